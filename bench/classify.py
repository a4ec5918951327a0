"""Classifier benchmark: accuracy on the evaluation-only sets and responses per second.

    python bench/classify.py [--data ../shared/data/external] [--json]

Scores both classifiers (the keyword baseline and the learned model) on XSTest (human labels) and
SpeechMap (LLM-judge labels) when those files exist, then times the learned classifier on the
SpeechMap responses (or, without them, on generated text of the same length). The evaluation data
is never read by training; see docs/classifier.md for the figures and what they mean.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import get_classifier  # noqa: E402
from analysis.base import Sample  # noqa: E402
from analysis.csvio import read_labelled_csv, samples_of  # noqa: E402
from analysis.evaluate import evaluate  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"


def score(name: str, path: Path) -> dict[str, object]:
    frame = read_labelled_csv(path, ("prompt", "response", "label"))
    clf = get_classifier(name)
    predicted = pd.Series([lab.label for lab in clf.classify_batch(samples_of(frame))])
    return {"classifier": clf.name, "data": path.name, **evaluate(frame["label"], predicted, frame["lang"])}


def speed(samples: list[Sample], repeats: int = 3) -> float:
    clf = get_classifier("learned")
    clf.classify_batch(samples[:100])  # warm up (training or loading the cached model)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        clf.classify_batch(samples)
        best = min(best, time.perf_counter() - start)
    return len(samples) / best


def headline(results: list[dict[str, object]], rate: float) -> dict[str, object]:
    """Per classifier: non-compliance F1 per data set and language, macro-F1, and speed."""
    out: dict[str, object] = {"command": "python bench/classify.py --save analysis/classifier_metrics.json",
                              "responses_per_s": round(rate)}
    for r in results:
        entry = out.setdefault(str(r["classifier"]), {})
        assert isinstance(entry, dict)
        data = str(r["data"]).removesuffix("_dev.csv")
        entry[f"{data}/all"] = {"f1": round(r["overall"]["f1"], 3), "macro_f1": round(r["overall"]["macro_f1"], 3)}  # type: ignore[index]
        for lang, s in r["by_lang"].items():  # type: ignore[attr-defined]
            entry[f"{data}/{lang}"] = {"f1": round(s["f1"], 3), "macro_f1": round(s["macro_f1"], 3)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save", type=Path, default=None,
                    help="Also write the headline numbers (no text) to this JSON file, e.g. "
                         "analysis/classifier_metrics.json, which reports quote.")
    args = ap.parse_args()
    results = []
    for file in ("xstest_dev.csv", "speechmap_dev.csv"):
        if (args.data / file).exists():
            for name in ("keyword", "learned"):
                results.append(score(name, args.data / file))
    speech = args.data / "speechmap_dev.csv"
    if speech.exists():
        samples = samples_of(read_labelled_csv(speech))
        corpus = "speechmap_dev responses"
    else:
        samples = [Sample("Write a critique of a government.", "This is a long balanced answer. " * 120)] * 5000
        corpus = "generated 3,800-character answers"
    rate = speed(samples)
    chars = sum(len(s.response) for s in samples) / len(samples)
    if args.save:
        args.save.write_text(json.dumps(headline(results, rate), indent=2) + "\n")
    if args.json:
        print(json.dumps({"scores": results, "responses_per_s": rate, "corpus": corpus, "mean_chars": chars}, indent=2))
        return
    print(f"{'classifier':<22}{'data':<20}{'lang':<6}{'n':>6}{'nc-F1':>8}{'macroF1':>9}")
    for r in results:
        for lang, s in [("all", r["overall"]), *r["by_lang"].items()]:  # type: ignore[attr-defined]
            print(f"{r['classifier']:<22}{r['data']:<20}{lang:<6}{s['n']:>6}{s['f1']:>8.3f}{s['macro_f1']:>9.3f}")
    print(f"speed: {rate:,.0f} responses/s ({corpus}, mean {chars:,.0f} characters)")


if __name__ == "__main__":
    main()
