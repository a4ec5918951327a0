"""Classifiers that label responses, and the statistics that compare models."""

from __future__ import annotations

from collections.abc import Callable

from analysis.base import Classifier, Sample, flags_of, label_records
from analysis.frame import chosen_label, to_frame
from analysis.keyword import KeywordClassifier


def _learned() -> Classifier:
    from analysis.learned import load_default

    return load_default()


CLASSIFIERS: dict[str, Callable[[], Classifier]] = {"learned": _learned, "keyword": KeywordClassifier}
"""Classifiers by short name; ``learned`` is the default."""

DEFAULT_CLASSIFIER = "learned"


def get_classifier(name: str = DEFAULT_CLASSIFIER) -> Classifier:
    """Build a classifier by short name.

    Raises:
        KeyError: unknown name.
    """
    return CLASSIFIERS[name]()


def default_classifier() -> Classifier:
    """The classifier ``probe run`` and ``probe classify`` use unless told otherwise."""
    return get_classifier(DEFAULT_CLASSIFIER)


__all__ = [
    "CLASSIFIERS",
    "Classifier",
    "KeywordClassifier",
    "Sample",
    "chosen_label",
    "default_classifier",
    "flags_of",
    "get_classifier",
    "label_records",
    "to_frame",
]
