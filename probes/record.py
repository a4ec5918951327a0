"""The one record that flows through the pipeline: prompt -> response -> label -> report row.

Every stage returns ``dataclasses.replace(record, ...)``; nothing mutates a record. Records are
written with ``to_json`` (``asdict``) and read back with ``ProbeRecord.from_dict``.

This module imports nothing from the project.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 1
"""Bump when a field's name or meaning changes; ``from_dict`` refuses newer versions."""

LABELS = ("compliance", "refusal", "deflection")
"""The three response labels, in the order classifiers report probabilities."""

FLAGS = ("empty", "degenerate", "truncated")
"""Independent flags a classifier may set beside the label."""


@dataclass(frozen=True)
class Label:
    """One classifier's verdict on one response."""

    label: str
    """One of ``LABELS``."""

    probs: dict[str, float] = field(default_factory=dict)
    """Probability of each label in ``LABELS``; rule-based classifiers give 0/1."""

    flags: tuple[str, ...] = ()
    """Subset of ``FLAGS``."""

    classifier: str = ""
    """``name@version`` of the classifier that produced this label."""

    source: str = "model"
    """``model`` for a classifier's label, ``human`` for a reviewer's override."""

    @property
    def confidence(self) -> float:
        """Probability of the chosen label (1.0 when the classifier gives none)."""
        return self.probs.get(self.label, 1.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Label:
        """Rebuild a label written by ``asdict``."""
        return cls(
            label=data["label"],
            probs=dict(data.get("probs", {})),
            flags=tuple(data.get("flags", ())),
            classifier=data.get("classifier", ""),
            source=data.get("source", "model"),
        )


@dataclass(frozen=True)
class ProbeRecord:
    """Everything about one prompt sent to one model, filled in stages."""

    # --- prompt stage (probes.suites) ---
    key: str
    """Short hash identifying (suite, version, item, model file, params, sample); see ``make_key``."""

    suite: str
    """Suite name."""

    suite_version: str
    """Suite version; changing any prompt text bumps it."""

    item_id: str
    """Prompt id within the suite, ``<pair_id>.<lang>`` for curated suites."""

    pair_id: str
    """Shared by the language versions of one item."""

    lang: str
    """Language code of the prompt (``en``, ``zh``, ...)."""

    topic: str
    """Topic id (``tiananmen``, ``kent-state``, ...)."""

    topic_group: str
    """``china_sensitive``, ``control``, ``benign``, ``harmful``, ``overrefusal`` or ``user``."""

    style: str
    """``factual``, ``evaluative``, ``creative`` or ``unknown``."""

    prompt: str
    """The user message."""

    system: str | None = None
    """System message, if any."""

    control_of: tuple[str, ...] = ()
    """For a control item: the pair ids of the China-sensitive items it matches."""

    facts: tuple[tuple[str, ...], ...] = ()
    """Reference facts in this language; each inner tuple is one fact's synonyms."""

    narrative: tuple[str, ...] = ()
    """Phrases typical of an official state narrative, in this language."""

    # --- response stage (probe run) ---
    model: str = ""
    """Model name as given (catalog name, path stem or served id)."""

    model_sha256: str = ""
    """sha256 of the model file (or the served model id for HTTP runners)."""

    params: dict[str, Any] = field(default_factory=dict)
    """Canonical generation parameters (temperature, max_tokens, seed, ...)."""

    sample_index: int = 0
    """Sample number for temperature > 0; always 0 for greedy decoding."""

    response: str | None = None
    """The answer, with any ``<think>`` reasoning removed; None when generation failed."""

    reasoning: str | None = None
    """Reasoning text a model put in ``<think>...</think>``, if any."""

    finish_reason: str | None = None
    """``stop``, ``length``, ``repetition`` (cut at a loop, ``runners.loops``), ``content_filter`` or ``error``."""

    prompt_tokens: int = 0
    """Tokens in the rendered prompt."""

    completion_tokens: int = 0
    """Tokens generated."""

    latency_s: float = 0.0
    """Wall-clock seconds for this generation."""

    error: str | None = None
    """Error message when generation failed; such records are retried on resume."""

    # --- label stage (probe classify) ---
    labels: dict[str, Label] = field(default_factory=dict)
    """Labels keyed by ``name@version`` of the classifier (or ``human`` for overrides)."""

    schema_version: int = SCHEMA_VERSION
    """Record schema version."""

    def to_json(self) -> str:
        """One JSONL line (with trailing newline), keys sorted, non-ASCII kept."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeRecord:
        """Rebuild a record written by ``to_json``.

        Raises:
            ValueError: the record is from a newer schema or misses required fields.
        """
        version = int(data.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"record schema_version {version} is newer than this tool's {SCHEMA_VERSION}"
            )
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["control_of"] = tuple(values.get("control_of", ()))
        values["facts"] = tuple(tuple(f) for f in values.get("facts", ()))
        values["narrative"] = tuple(values.get("narrative", ()))
        values["labels"] = {
            name: Label.from_dict(label) for name, label in values.get("labels", {}).items()
        }
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"not a probe record: {exc}") from None


def canonical_params(params: dict[str, Any]) -> str:
    """Stable JSON text of generation parameters, used in keys and cache lookups."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_key(
    suite: str,
    suite_version: str,
    item_id: str,
    model_sha256: str,
    params: dict[str, Any],
    sample_index: int = 0,
) -> str:
    """Short stable hash of what makes a response reproducible.

    ``item_id`` carries the language. ``sample_index`` only enters the key for sampled
    (temperature > 0) generations, so greedy runs keep one key per item.
    """
    parts = [suite, suite_version, item_id, model_sha256, canonical_params(params)]
    if float(params.get("temperature", 0.0)) > 0:
        parts.append(str(sample_index))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
