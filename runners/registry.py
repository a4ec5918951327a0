"""Map a ``--model`` value to a runner, importing each backend only when it is used.

Accepted forms:
    ``NAME`` or ``gguf/NAME``   a catalog model (pulled on first use)
    ``PATH.gguf``               any local GGUF file
    ``hf:REPO/FILE.gguf``       a file on the Hugging Face hub (through huggingface_hub)
    ``fake/echo``, ``fake/refuse``  the fake runner, for tests and dry runs
    ``openai/NAME`` (or any NAME with ``runner="openai"``)  a model on an OpenAI-compatible server
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners.base import GenerationParams, Runner, RunnerError
from runners.catalog import CATALOG, CatalogModel

PullFn = Callable[[CatalogModel], Path]


@dataclass(frozen=True)
class RunnerOptions:
    """How backends run, beside the generation parameters (which enter record keys)."""

    runner: str = "auto"
    """``auto`` (from the model spec), ``gguf``, ``openai`` or ``fake``."""

    threads: int | None = None
    n_gpu_layers: int | None = None
    parallel: int | None = None
    """Sequences decoded together by the GGUF runner (default from model size and cores)."""

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 5
    extra_body: dict[str, Any] | None = None
    cache: bool = True
    """Answer requests seen before from the result cache (``runners.cache``); fake runners never are."""


def known_models() -> str:
    """Comma-separated catalog names, for error messages."""
    return ", ".join(CATALOG)


def model_name(spec: str) -> str:
    """The short name a record carries for ``spec`` (catalog name, file stem or fake name)."""
    if spec.startswith("gguf/") and spec[5:] in CATALOG:
        return spec[5:]
    if spec.startswith("hf:") or spec.endswith(".gguf"):
        return Path(spec).stem
    return spec.removeprefix("openai/")


def load_runner(
    spec: str,
    params: GenerationParams,
    options: RunnerOptions | None = None,
    pull_fn: PullFn | None = None,
) -> Runner:
    """Build the runner for one ``--model`` value, behind the result cache unless ``options.cache`` is off.

    Raises:
        RunnerError: unknown model, missing or invalid file, hub or server unreachable, pull failure.
    """
    opts = options or RunnerOptions()
    runner = _backend(spec, params, opts, pull_fn)
    if not opts.cache or spec.startswith("fake/") or opts.runner == "fake":
        return runner
    from runners.cache import CachedRunner, ResultCache

    return CachedRunner(runner, ResultCache())


def _backend(spec: str, params: GenerationParams, opts: RunnerOptions, pull_fn: PullFn | None) -> Runner:
    if opts.runner == "openai" or spec.startswith("openai/"):
        if not opts.base_url:
            raise RunnerError("--runner openai needs --base-url, e.g. http://localhost:8000/v1")
        from runners.openai_http import OpenAIRunner

        return OpenAIRunner(opts.base_url, spec.removeprefix("openai/"), api_key_env=opts.api_key_env,
                            concurrency=opts.concurrency, timeout=opts.timeout, max_retries=opts.max_retries, extra_body=opts.extra_body)
    if spec.startswith("fake/") or opts.runner == "fake":
        from runners.fake import fake_runner

        try:
            return fake_runner(spec)
        except ValueError as exc:
            raise RunnerError(str(exc)) from None
    extra: dict[str, Any] = {}
    name = model_name(spec)
    if name in CATALOG:
        entry = CATALOG[name]
        path = _pull(entry, pull_fn)
        extra["catalog"] = {
            "developer": entry.developer,
            "country": entry.country,
            "licence": entry.licence,
            "instruct": entry.instruct,
        }
    elif spec.startswith("hf:"):
        path = _hf_download(spec[3:])
        extra["source"] = spec
    elif spec.endswith(".gguf") or Path(spec).is_file():
        path = Path(spec)
    else:
        raise RunnerError(
            f"unknown model {spec!r}; known models: {known_models()} "
            "(or give a path to a .gguf file, hf:REPO/FILE.gguf, fake/echo)"
        )
    from runners.gguf import GGUFRunner

    return GGUFRunner(name, path, threads=opts.threads, n_gpu_layers=opts.n_gpu_layers, params=params, extra=extra,
                      parallel=opts.parallel)


def _pull(entry: CatalogModel, pull_fn: PullFn | None) -> Path:
    from runners.pull import PullError, pull

    try:
        return (pull_fn or pull)(entry)
    except PullError as exc:
        raise RunnerError(str(exc)) from None


def _hf_download(ref: str) -> Path:
    repo, _, filename = ref.rpartition("/")
    if not repo or "/" not in repo or not filename:
        raise RunnerError(f"hf:{ref}: expected hf:OWNER/REPO/FILE.gguf")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id=repo, filename=filename, etag_timeout=10))
    except ImportError:
        raise RunnerError("hf: models need huggingface_hub (pip install huggingface_hub)") from None
    except Exception as exc:  # noqa: BLE001 - the hub raises many types; all mean "not fetched"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunnerError(f"cannot fetch hf:{ref} from the Hugging Face hub: {first}") from None
