"""The classifier interface and the flags every classifier shares."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

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


_LINE_SPLIT = re.compile(r"[\n。.!?！？]+")
_END = re.compile(r"[.!?。！？…”\"')\]）》`*:：]\s*$")


_FLAG_CHARS = 3000
"""Flags read the first 3,000 characters (and the end, for truncation)."""


def flags_of(sample: Sample) -> tuple[str, ...]:
    """``empty``, ``degenerate`` and ``truncated`` flags, from the text and the finish reason."""
    text = sample.response[:_FLAG_CHARS].strip() if len(sample.response) > _FLAG_CHARS else sample.response.strip()
    if not text:
        return ("empty",)
    flags = []
    if sample.finish_reason == "repetition" or is_degenerate(text, sample.lang):
        flags.append("degenerate")
    if sample.finish_reason == "length" or (sample.finish_reason is None and _looks_cut(sample.response.rstrip())):
        flags.append("truncated")
    return tuple(flags)


def is_degenerate(text: str, lang: str | None = None) -> bool:
    """Repetition loops, gibberish, or an answer in another script than the prompt's language."""
    raw = text.encode("utf-8", "replace")
    if len(raw) >= 200 and len(zlib.compress(raw)) / len(raw) < 0.12:
        return True  # a loop: the text compresses to almost nothing (cut ones end with "repetition")
    pieces = [p.strip() for p in _LINE_SPLIT.split(text) if len(p.strip()) >= 8]
    if len(pieces) >= 6 and len(set(pieces)) / len(pieces) <= 0.4:
        return True  # the same sentence over and over
    cjk, latin, other = script_counts(text)
    total = cjk + latin + other
    if len(text) >= 20 and total / len(text) < 0.3:
        return True  # mostly symbols, digits or replacement characters
    return _wrong_script(cjk, latin, other, lang)


def script_counts(text: str) -> tuple[int, int, int]:
    """Counts of CJK, Latin and other-script letters (Cyrillic, Hangul, kana, Arabic, Thai)."""
    cp = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    cjk = int(np.count_nonzero(((cp >= 0x3400) & (cp <= 0x9FFF)) | ((cp >= 0xF900) & (cp <= 0xFAFF))))
    lower = cp | 0x20
    latin = int(np.count_nonzero((lower >= 0x61) & (lower <= 0x7A)))
    other = int(np.count_nonzero(((cp >= 0x0400) & (cp <= 0x04FF)) | ((cp >= 0xAC00) & (cp <= 0xD7AF))
                                 | ((cp >= 0x3040) & (cp <= 0x30FF)) | ((cp >= 0x0600) & (cp <= 0x06FF))
                                 | ((cp >= 0x0E00) & (cp <= 0x0E7F))))
    return cjk, latin, other


def _wrong_script(cjk: int, latin: int, other: int, lang: str | None) -> bool:
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
