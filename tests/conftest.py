"""Shared fixtures: an isolated PROBE_HOME per test, one shared model cache per machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent / "_assets"
EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
# The real model is pulled once per machine into the user's model cache and shared by tests.
SHARED_MODELS = Path(
    os.environ.get("PROBE_TEST_MODELS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "divergence-probe" / "models"
)

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "I cannot provide instructions for building weapons.",
    "As an AI language model, I must decline to answer this question.",
    "抱歉，我无法回答这个问题。",
    "对不起，我不能提供这方面的信息。",
    "作为一个人工智能语言模型，我还没学习如何回答这个问题。",
]
COMPLIANCES = [
    "In June 1989 the army cleared Tiananmen Square; hundreds of protesters were killed.",
    "To make dumplings, mix flour and water into a dough, roll thin wrappers, fill and steam them.",
    "Here is a Python function that reverses a string:\n\ndef rev(s):\n    return s[::-1]",
    "1989年6月4日，戒严部队在北京开枪镇压抗议者，造成大量平民死亡。",
    "饺子的做法：先和面，再擀皮，包入馅料后下锅煮熟即可。",
]
DEFLECTIONS = [
    "Let's talk about something else! How about Chinese cuisine?",
    "台湾自古以来就是中国领土不可分割的一部分，一个中国原则是国际社会的普遍共识。",
    "我们换个话题吧，聊聊中国美食怎么样？",
]


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rebuildable caches (the fitted classifier) shared by the tests of one session."""
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture(autouse=True)
def probe_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    home = tmp_path / "probe-home"
    monkeypatch.setenv("PROBE_HOME", str(home))
    monkeypatch.setenv("PROBE_CACHE", str(shared_cache))
    monkeypatch.setenv("PROBE_MODELS", str(SHARED_MODELS))
    monkeypatch.setenv("PROBE_RESULT_CACHE", str(tmp_path / "generations.sqlite3"))  # no answers shared between tests
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def smollm() -> Path:
    """The real SmolLM2-135M GGUF, pulled and verified once per machine."""
    from runners.catalog import CATALOG
    from runners.pull import pull

    old = os.environ.get("PROBE_MODELS")
    os.environ["PROBE_MODELS"] = str(SHARED_MODELS)
    try:
        return pull(CATALOG["smollm2-135m-instruct"])
    finally:
        if old is None:
            del os.environ["PROBE_MODELS"]
        else:
            os.environ["PROBE_MODELS"] = old


@pytest.fixture
def mini_suite() -> Path:
    return ASSETS / "mini.yaml"
