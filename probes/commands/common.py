"""What the commands share: user-error handling, terminal-safe printing, shared options."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from probes.errors import ProbeError

F = TypeVar("F", bound=Callable[..., Any])


class UserError(ProbeError):
    """Bad command-line input the user can fix."""


class InputError(click.ClickException):
    """Exit status 2, like click's usage errors; 1 is left for findings (``probe diff``)."""

    exit_code = 2


class ProbeGroup(click.Group):
    """Turns ``ProbeError``s into a one-line message and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProbeError as exc:
            raise InputError(str(exc)) from None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: object) -> str:
    """Text with terminal control characters (escape sequences) made visible, never executed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def json_option(f: F) -> F:
    """``--json``, bound to ``json_``."""
    return click.option("--json", "json_", is_flag=True, help="Print JSON instead of a table.")(f)


def generation_options(f: F) -> F:
    """Options that set how models generate."""
    options = [
        click.option("--max-tokens", type=click.IntRange(1, 32768), default=256, show_default=True,
                     help="Largest number of tokens generated per answer."),
        click.option("--temperature", type=click.FloatRange(0, 5), default=0.0, show_default=True,
                     help="0 is greedy decoding (reproducible)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed."),
        click.option("--stop-loops/--no-stop-loops", default=True, show_default=True,
                     help="End an answer once it goes round in a loop (a unit repeated 3 times over 64+ "
                          "characters): it is cut there, with finish reason 'repetition'. Local models "
                          "stop generating at once, which saves the rest of --max-tokens."),
        click.option("--samples", type=click.IntRange(1, 100), default=1, show_default=True,
                     help="Answers per prompt (only with --temperature > 0)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


RUNNER_KEYS = ("runner", "threads", "n_gpu_layers", "parallel", "base_url", "api_key_env", "concurrency", "timeout",
               "max_retries", "extra_body", "cache")
"""Parameters ``runner_options`` adds; they become a ``runners.registry.RunnerOptions``."""


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter("a JSON object is needed")
    return data


def runner_options(f: F) -> F:
    """Options that set how backends run (none of them changes a record's key)."""
    options = [
        click.option("--runner", type=click.Choice(["auto", "gguf", "openai", "fake"]), default="auto",
                     show_default=True, help="Backend; auto picks it from each --model value."),
        click.option("--threads", type=click.IntRange(1, 1024), default=None,
                     help="GGUF: CPU threads [default: one per core]."),
        click.option("--n-gpu-layers", type=int, default=None,
                     help="GGUF: layers to offload to the GPU [default: all with a GPU build, else 0]."),
        click.option("--parallel", type=click.IntRange(1, 256), default=None,
                     help="GGUF: sequences decoded together at temperature 0 [default: 16 per core, 32 "
                          "for models under 256 MB, up to 64]; 1 answers one prompt at a time."),
        click.option("--cache/--no-cache", default=True, show_default=True,
                     help="Reuse answers generated before for the same model, prompt and settings "
                          "(kept in PROBE_CACHE/generations.sqlite3)."),
        click.option("--base-url", envvar="PROBE_BASE_URL", default=None,
                     help="openai: the API root, e.g. http://localhost:8000/v1 (env PROBE_BASE_URL)."),
        click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
                     help="openai: environment variable holding the API key (never written to disk)."),
        click.option("--concurrency", type=click.IntRange(1, 1024), default=8, show_default=True,
                     help="openai: requests in flight at once."),
        click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
                     help="openai: seconds to wait for a server."),
        click.option("--max-retries", type=click.IntRange(0, 100), default=5, show_default=True,
                     help="openai: retries (exponential backoff) after 429, 5xx and connection errors."),
        click.option("--extra-body", callback=_json_object, default=None, metavar="JSON",
                     help="openai: server-specific request fields, e.g. '{\"repeat_penalty\": 1.0}' for "
                          "llama-cpp-python's server (recorded in run.json)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f
