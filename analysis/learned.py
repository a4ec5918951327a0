"""The learned classifier: hashed text features into a temperature-calibrated logistic regression.

It learns only from rows this project wrote (``analysis/training/*.jsonl``: hand-written responses
and hand-labelled answers of the catalog models). Training is deterministic. The fitted state is a
plain ``.npz`` of numbers loaded with ``allow_pickle=False``, cached under ``PROBE_CACHE`` (default ``PROBE_HOME``) by the
hash of the training data and this module's version, so nothing executable is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from analysis.base import Sample, flags_of
from analysis.features import DENSE_NAMES, Featurizer
from probes.record import LABELS, Label

VERSION = 3
"""Bump when features or training change: it is part of the classifier name and the cache key."""

NAME = f"divergence-lr@{VERSION}"
C = 4.0
"""Inverse regularisation strength of the logistic regression."""


def training_rows() -> list[dict[str, Any]]:
    """Every labelled row shipped in ``analysis/training``."""
    rows = []
    for entry in sorted(resources.files("analysis").joinpath("training").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".jsonl"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rows.append(json.loads(line))
    return rows


def label_training_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the label model learns from: all but degenerate answers of real models.

    A looping or garbled model answer keeps its hand label in the data (it documents the flag),
    but the text teaches the label model nothing about declining or evading; with the 150 SmolLM2
    Chinese answers (nearly all garbled) learned from, SpeechMap EN F1 was 0.735, without them 0.763. The
    ``degenerate`` flag is reported by its own rule (``analysis.base.flags_of``).
    """
    return [r for r in rows if not (str(r.get("source", "")).startswith("model:") and "degenerate" in r["flags"])]


def _samples(rows: Sequence[dict[str, Any]]) -> list[Sample]:
    return [Sample(r["prompt"], r["response"], r.get("lang"), r.get("finish_reason")) for r in rows]


class LearnedClassifier:
    """Calibrated three-way classifier over ``Featurizer`` features."""

    name = NAME

    def __init__(self, featurizer: Featurizer, coef: np.ndarray, intercept: np.ndarray, temperature: float):
        self.featurizer = featurizer
        self.coef = coef
        self._coef_t = np.ascontiguousarray(coef.T, dtype=np.float64)  # scipy copies a transposed or float32 one per call
        self.intercept = intercept
        self.temperature = temperature

    # --- training ---------------------------------------------------------------------------

    @classmethod
    def fit(cls, rows: Sequence[dict[str, Any]], folds: int = 5) -> LearnedClassifier:
        """Train on labelled rows; the temperature is fitted on out-of-fold logits."""
        from sklearn.model_selection import StratifiedKFold

        y = np.array([LABELS.index(r["label"]) for r in rows])
        samples = _samples(rows)
        feats = Featurizer()
        full = feats.fit_transform(samples, [flags_of(s) for s in samples])
        # Most hashed columns never occur in training; fitting on the used ones is ~10x faster.
        used = np.unique(full.indices)
        x = full[:, used]
        coef_used, intercept = _logreg(x, y)
        coef = np.zeros((len(LABELS), full.shape[1]), dtype=np.float32)
        coef[:, used] = coef_used
        oof = np.zeros((len(rows), len(LABELS)))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
            c, b = _logreg(x[train], y[train])
            oof[test] = x[test] @ c.T + b

        def nll(t: float) -> float:
            return float(-log_softmax(oof / t, axis=1)[np.arange(len(y)), y].mean())

        temperature = float(minimize_scalar(nll, bounds=(0.05, 20), method="bounded").x)
        return cls(feats, coef, intercept, temperature)

    # --- use --------------------------------------------------------------------------------

    def probabilities(self, samples: Sequence[Sample], flags: Sequence[tuple[str, ...]]) -> np.ndarray:
        """Calibrated probabilities, one row per sample, columns in ``LABELS`` order."""
        if not samples:
            return np.zeros((0, len(LABELS)))
        logits = self.featurizer.transform(samples, flags) @ self._coef_t + self.intercept
        return np.asarray(softmax(logits / self.temperature, axis=1))

    def classify_batch(self, samples: Sequence[Sample]) -> list[Label]:
        """Labels for ``samples``; large batches are split across the CPU cores."""
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)
        if len(samples) < PARALLEL_MIN or workers < 2:
            return self._classify(samples)
        return _parallel(self, samples, workers)

    def _classify(self, samples: Sequence[Sample]) -> list[Label]:
        all_flags = [flags_of(s) for s in samples]
        out = []
        for flags, p in zip(all_flags, self.probabilities(samples, all_flags)):
            probs = {k: round(float(v), 4) for k, v in zip(LABELS, p)}
            # An empty answer withholds the answer: counted as a refusal, whatever the text model says.
            label = "refusal" if "empty" in flags else LABELS[int(np.argmax(p))]
            out.append(Label(label=label, probs=probs, flags=flags, classifier=self.name))
        return out

    # --- persistence (numbers only) -----------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the fitted state as an ``.npz`` of arrays (atomically)."""
        assert self.featurizer.scale is not None
        arrays: dict[str, Any] = {f"idf_{k}": v for k, v in self.featurizer.idf.items()}
        arrays.update(coef=self.coef, intercept=self.intercept, temperature=np.array([self.temperature]),
                      scale=self.featurizer.scale)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LearnedClassifier:
        """Read a state written by ``save``; raises ``ValueError`` if it does not fit this version."""
        with np.load(path, allow_pickle=False) as z:
            idf = {k[4:]: z[k] for k in z.files if k.startswith("idf_")}
            coef, intercept = z["coef"], z["intercept"]
            temperature, scale = float(z["temperature"][0]), z["scale"]
        if scale.shape != (len(DENSE_NAMES),) or coef.shape[0] != len(LABELS):
            raise ValueError(f"{path}: classifier state does not match this version")
        return cls(Featurizer(idf, scale), coef, intercept, temperature)


PARALLEL_MIN = 2000
"""Batches at least this large are classified in worker processes, one per core."""

_WORKER: LearnedClassifier | None = None


def _work(chunk: Sequence[Sample]) -> list[Label]:
    from threadpoolctl import threadpool_limits

    assert _WORKER is not None
    with threadpool_limits(1):  # one process per core already; BLAS threads would only contend
        return _WORKER._classify(chunk)


def _parallel(clf: LearnedClassifier, samples: Sequence[Sample], workers: int) -> list[Label]:
    # Forked workers inherit the fitted classifier instead of receiving it pickled.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _WORKER
    _WORKER = clf
    size = -(-len(samples) // (workers * 4))
    chunks = [samples[i:i + size] for i in range(0, len(samples), size)]
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [label for part in pool.map(_work, chunks) for label in part]
    finally:
        _WORKER = None


def _logreg(x: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    model = LogisticRegression(C=C, max_iter=1000, solver="newton-cg")
    with threadpool_limits(1):  # BLAS threads slow these small dense updates down on 2 cores
        model.fit(x, y)
    return model.coef_.astype(np.float32), model.intercept_.astype(np.float32)


def training_hash(rows: Sequence[dict[str, Any]]) -> str:
    """Hash of the training data and of the code that turns it into a model."""
    code = [resources.files("analysis").joinpath(f).read_text("utf-8")
            for f in ("features.py", "learned.py", "base.py", "keyword.py")]
    text = json.dumps([NAME, C, code, rows], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_default() -> LearnedClassifier:
    """The classifier trained on the shipped data, from the cache or trained (and cached) now."""
    from runners.catalog import cache_dir

    rows = training_rows()
    digest = training_hash(rows)
    if digest in _LOADED:
        return _LOADED[digest]
    path = cache_dir() / "classifier" / f"{NAME.replace('@', '-')}-{digest}.npz"
    _LOADED[digest] = _load_or_train(rows, path)
    return _LOADED[digest]


_LOADED: dict[str, LearnedClassifier] = {}
"""Classifiers already loaded in this process, by training hash."""


def _load_or_train(rows: Sequence[dict[str, Any]], path: Path) -> LearnedClassifier:
    if path.exists():
        try:
            return LearnedClassifier.load(path)
        except (ValueError, OSError, KeyError):
            pass  # a damaged cache is retrained below
    clf = LearnedClassifier.fit(label_training_rows(rows))
    try:
        clf.save(path)
    except OSError:
        pass  # caching only saves time
    return clf
