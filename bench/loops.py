"""How the repetition-loop rule (``runners/loops.py``) behaves on real answers.

    python bench/loops.py [--data ../shared/data/external] [--run RUN_DIR]

Counts the answers the rule would cut: in the evaluation-only data (answers of large models, where
a cut is almost always a false alarm), in the project's training rows (where it should fire only
on rows labelled degenerate) and, with ``--run``, in a run made with ``--no-stop-loops``, where it
also labels every cut answer both ways to show how often cutting changes the label.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.base import Sample  # noqa: E402
from runners.loops import cut_loop, loop_end  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"


def external(data: Path) -> None:
    import pandas as pd

    for path in sorted(data.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        cut = sum(loop_end(text) is not None for text in frame["response"])
        print(f"{path.name}: {cut} of {len(frame)} answers have a loop")


def training() -> None:
    from analysis.learned import training_rows

    rows = [r for r in training_rows() if loop_end(r["response"]) is not None]
    degenerate = sum("degenerate" in r["flags"] for r in rows)
    print(f"training rows: {len(rows)} have a loop, {degenerate} of them flagged degenerate")


def run(folder: Path) -> None:
    from analysis import get_classifier
    from probes.store import RunStore

    records = [r for r in RunStore(folder).read().values() if r.response]
    whole, cut = [], []
    for r in records:
        text, looped = cut_loop(r.response or "")
        if looped:
            whole.append(Sample(r.prompt, r.response or "", r.lang, r.finish_reason))
            cut.append(Sample(r.prompt, text, r.lang, "repetition"))
    clf = get_classifier("learned")
    pairs = Counter(zip((x.label for x in clf.classify_batch(whole)), (x.label for x in clf.classify_batch(cut))))
    same = sum(n for (a, b), n in pairs.items() if a == b)
    print(f"{folder}: {len(cut)} of {len(records)} answers would be cut; {same} keep their {clf.name} label")
    for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if a != b:
            print(f"  {a} -> {b}: {n}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of evaluation CSVs (skipped if absent)")
    ap.add_argument("--run", type=Path, help="a run folder made with --no-stop-loops")
    args = ap.parse_args()
    if args.data.is_dir():
        external(args.data)
    training()
    if args.run:
        run(args.run)


if __name__ == "__main__":
    main()
