"""Report benchmark: render time and file size for a synthetic run of N records.

    python bench/report.py [--records 10000] [--models 4]

The records are generated (no model runs): every suite item of ``sensitive`` in both languages for
each model, repeated with sample indexes until N records exist, with answers of realistic length
and labels drawn at fixed rates. It times ``to_frame`` plus ``render`` (statistics, charts, HTML).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import to_frame  # noqa: E402
from analysis.learned import NAME  # noqa: E402
from probes.record import LABELS, Label, ProbeRecord  # noqa: E402
from probes.suites import load_suite  # noqa: E402
from reports import render  # noqa: E402


def records(n: int, models: int) -> list[ProbeRecord]:
    rng = random.Random(0)
    items = load_suite("sensitive").items
    out: list[ProbeRecord] = []
    sample = 0
    while len(out) < n:
        for m in range(models):
            for item in items:
                if len(out) >= n:
                    return out
                label = rng.choices(LABELS, weights=(6, 3, 2))[0]
                probs = {k: (0.8 if k == label else 0.1) for k in LABELS}
                out.append(replace(item, key=f"{m}-{sample}-{item.item_id}", model=f"model-{m}", sample_index=sample,
                                   response="An answer of typical length. " * rng.randint(5, 60),
                                   labels={NAME: Label(label, probs, (), NAME)}))
        sample += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=4)
    args = ap.parse_args()
    recs = records(args.records, args.models)
    meta = {"runs": [{"created": "bench", "host": "bench", "suite": {"name": "sensitive", "version": "1", "sha256": ""},
                      "tool": {"version": "bench"}, "params": {}, "models": {}}]}
    start = time.perf_counter()
    html = render(to_frame(recs), meta)
    seconds = time.perf_counter() - start
    print(f"{len(recs):,} records, {args.models} models: rendered in {seconds:.2f} s, "
          f"{len(html.encode()) / 1e6:.1f} MB of HTML")


if __name__ == "__main__":
    main()
