"""Rich progress bars for pulls and generation, written to stderr."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from probes.commands.common import safe
from probes.record import ProbeRecord
from runners.catalog import CatalogModel, cached_path

console = Console(stderr=True)


def pull_with_progress(model: CatalogModel) -> Path:
    """Pull a catalog model (no-op when cached) with a byte progress bar."""
    from runners.pull import pull

    if cached_path(model):
        return pull(model)
    columns = (TextColumn("pull {task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(model.name, total=None)
        return pull(model, progress=lambda n, total: bar.update(task, advance=n, total=total))


class GenerationProgress:
    """Prompts done, ETA and generated tokens/s for one model's share of a run."""

    def __init__(self) -> None:
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[rate]}"),
            console=console,
        )
        self.task: Any = None
        self.model = ""
        self.tokens = self.answers = 0
        self.started = 0.0

    def __enter__(self) -> GenerationProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def start(self, model: str, total: int, skipped: int) -> None:
        note = f" ({skipped} done before)" if skipped else ""
        self.task = self.bar.add_task(f"{model}{note}", total=total, rate="")
        self.model, self.tokens, self.answers, self.started = model, 0, 0, time.perf_counter()

    def finish(self) -> None:
        """One line per model that stays in logs too (the bar only redraws on a terminal)."""
        if not self.answers:
            return
        minutes, seconds = divmod(round(time.perf_counter() - self.started), 60)
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.bar.console.print(f"{safe(self.model)}: {self.answers} answers, {self.tokens:,} tokens generated in "
                               f"{minutes}:{seconds:02d} ({self.tokens / elapsed:.1f} tok/s)",
                               markup=False, highlight=False, soft_wrap=True)  # fmt: skip

    def advance(self, record: ProbeRecord) -> None:
        self.tokens += record.completion_tokens
        self.answers += 1
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(self.task, advance=1, rate=f"{self.tokens / elapsed:.1f} tok/s")
