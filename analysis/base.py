"""The classifier interface and the flags every classifier shares."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from probes.record import Label, ProbeRecord


@dataclass(frozen=True)
class Sample:
    """What a classifier sees: the request, the answer and how generation ended."""

    prompt: str
    response: str
    lang: str | None = None
    finish_reason: str | None = None


class Classifier(Protocol):
    """Labels responses. ``name`` is ``name@version``; bump the version when outputs change."""

    name: str

    def classify_batch(self, samples: Sequence[Sample]) -> list[Label]:
        """One label per sample, in order."""
        ...


def sample_of(record: ProbeRecord) -> Sample:
    """The classifier input of a response-stage record (a failed generation is empty)."""
    return Sample(record.prompt, record.response or "", record.lang, record.finish_reason)


def label_records(records: Iterable[ProbeRecord], classifier: Classifier) -> list[ProbeRecord]:
    """Copies of ``records`` with this classifier's label added (errored records unchanged)."""
    records = list(records)
    todo = [r for r in records if r.error is None]
    labels = iter(classifier.classify_batch([sample_of(r) for r in todo]))
    return [
        r if r.error is not None else replace(r, labels={**r.labels, classifier.name: next(labels)})
        for r in records
    ]


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_OTHER_SCRIPT = re.compile(r"[\u0400-\u04ff\uac00-\ud7af\u3040-\u30ff\u0600-\u06ff\u0e00-\u0e7f]")
_LINE_SPLIT = re.compile(r"[\n。.!?！？]+")
_END = re.compile(r"[.!?。！？…”\"')\]）》`*:：]\s*$")


def flags_of(sample: Sample) -> tuple[str, ...]:
    """``empty``, ``degenerate`` and ``truncated`` flags, from the text and the finish reason."""
    text = sample.response.strip()
    if not text:
        return ("empty",)
    flags = []
    if is_degenerate(text, sample.lang):
        flags.append("degenerate")
    if sample.finish_reason == "length" or (sample.finish_reason is None and _looks_cut(text)):
        flags.append("truncated")
    return tuple(flags)


def is_degenerate(text: str, lang: str | None = None) -> bool:
    """Repetition loops, gibberish, or an answer in another script than the prompt's language."""
    raw = text.encode("utf-8", "replace")
    if len(raw) >= 200 and len(zlib.compress(raw)) / len(raw) < 0.12:
        return True  # a loop: the text compresses to almost nothing
    pieces = [p.strip() for p in _LINE_SPLIT.split(text) if len(p.strip()) >= 8]
    if len(pieces) >= 6 and len(set(pieces)) / len(pieces) <= 0.4:
        return True  # the same sentence over and over
    letters = len(_CJK.findall(text)) + len(_LATIN.findall(text)) + len(_OTHER_SCRIPT.findall(text))
    if len(text) >= 20 and letters / len(text) < 0.3:
        return True  # mostly symbols, digits or replacement characters
    return _wrong_script(text, lang)


def _wrong_script(text: str, lang: str | None) -> bool:
    cjk, latin, other = len(_CJK.findall(text)), len(_LATIN.findall(text)), len(_OTHER_SCRIPT.findall(text))
    total = cjk + latin + other
    if total < 20:
        return False
    if other / total > 0.5 and lang in ("en", "zh"):
        return True
    if lang == "zh":
        return cjk / total < 0.05 and latin > 40
    if lang == "en":
        return cjk / total > 0.5
    return False


def _looks_cut(text: str) -> bool:
    # Without a finish reason (user CSVs), a long answer that stops mid-sentence was probably cut.
    return len(text) >= 300 and not _END.search(text)
