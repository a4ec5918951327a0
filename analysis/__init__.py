"""Classifiers that label responses, and the statistics that compare models."""

from analysis.base import Classifier, Sample, flags_of, label_records
from analysis.frame import chosen_label, to_frame
from analysis.keyword import KeywordClassifier


def default_classifier() -> Classifier:
    """The classifier ``probe run`` and ``probe classify`` use unless told otherwise."""
    return KeywordClassifier()


__all__ = [
    "Classifier",
    "KeywordClassifier",
    "Sample",
    "chosen_label",
    "default_classifier",
    "flags_of",
    "label_records",
    "to_frame",
]
