"""Ingest throughput on a 1M-question JSONL, against pyarrow.json.read_json of the same file.

Targets (issue #2): >= 100k questions/s on a 2-core machine, and within 3x of the raw Arrow read.
Usage: python benchmarks/ingest_speed.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path


def build(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    stems = [
        "已知函数 f(x)=x^2+{a}x，求 f({b}) 的值。",
        "Which of the following is correct about item {a}? (A) {b} (B) {a}",
        "다음 중 옳은 것은? {a} + {b}",
        r"计算 $\frac{{{a}}}{{{b}}}$ 的值",
    ]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            a, b = rng.randint(1, 999), rng.randint(1, 999)
            record = {
                "query": stems[i % 4].format(a=a, b=b) + f" #{i}",
                "label": str(a + b),
                "score": rng.choice([2, 3, 4, 5, 6, 12]),
                "total": 150,
                "exam_id": f"exam-{i // 50:05d}",
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    import pyarrow.json as pjson

    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exam.jsonl"
        build(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        start = time.perf_counter()
        raw = pjson.read_json(path)
        raw_s = time.perf_counter() - start
        start = time.perf_counter()
        result = run_ingest([path], IngestConfig(out=Path(tmp) / "out"))
        ingest_s = time.perf_counter() - start
    assert result.n_questions == raw.num_rows == args.rows
    print(f"file: {args.rows:,} questions, {size_mb:.0f} MB")
    print(f"pyarrow.json.read_json: {raw_s:.2f} s ({args.rows / raw_s:,.0f} rows/s)")
    print(f"rlev ingest (read, check, dedupe, ids, split, write): {ingest_s:.2f} s ({args.rows / ingest_s:,.0f} q/s)")
    print(
        f"ratio ingest / raw read: {ingest_s / raw_s:.2f}x (target <= 3x); throughput target >= 100,000 q/s: "
        f"{'met' if args.rows / ingest_s >= 100_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
