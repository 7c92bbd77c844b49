"""predict-values fit + predict time and peak memory on a 100k-question table made by repeating and
perturbing the real fixtures; against a reference in the same run: fitting the trivial baseline (mean
value per question type) on the same rows.

Target (issue #3): fit + predict under 60 s on a 2-core machine.
Usage: python benchmarks/predict_values.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "exams"


def build(out: Path, rows: int, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig

    run_ingest([FIXTURES], IngestConfig(out=out / "base", unscored=True))
    base = pq.read_table(out / "base" / "questions.parquet").to_pylist()
    rng = random.Random(seed)
    table = []
    for i in range(rows):
        row = dict(base[i % len(base)])
        copy = i // len(base)
        row["id"] = f"{row['id']}-{copy}"
        row["exam_id"] = f"{row['exam_id']}#{copy % 2000}"  # 2,000 copies of each paper: ~50k exams
        row["question"] = f"{row['question']} [{rng.randint(0, 10**6)}]"  # perturbed text
        if copy % 3 == 0 and row["value_source"] == "score":  # a third unscored: to be predicted
            row.update(value=None, score=None, value_source="none")
        table.append(row)
    path = out / "questions.parquet"
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(out / "base" / "questions.parquet")), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    import numpy as np
    import pandas as pd

    from rlev_cli.values.config import ValuesConfig
    from rlev_cli.values.core import read_table, run_predict_values

    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp), args.rows)
        frame = read_table(path)
        start = time.perf_counter()
        truth = frame["value_source"] == "score"
        means = frame[truth].groupby("qtype")["value"].mean()
        baseline = frame["qtype"].map(means).fillna(frame.loc[truth, "value"].mean()).to_numpy()
        baseline_s = time.perf_counter() - start
        start = time.perf_counter()
        result = run_predict_values(ValuesConfig(data=path, out=Path(tmp) / "out.parquet"))
        fit_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert np.isfinite(baseline).all() and isinstance(means, pd.Series)
    print(f"table: {args.rows:,} questions, {int(truth.sum()):,} scored, {frame['exam_id'].nunique():,} exams")
    print(f"reference, mean value per qtype: {baseline_s:.2f} s")
    print(
        f"rlev predict-values (grouped CV on {result.report['n_cross_validated']:,} rows, 4 candidates x "
        f"{result.report['folds']} folds, final fit on all, predict all): {fit_s:.1f} s "
        f"({'met' if fit_s < 60 else 'NOT met'}: target < 60 s); ratio to reference {fit_s / baseline_s:.0f}x"
    )
    print(
        f"chosen {result.report['chosen']}, out-of-fold MAE {result.report['model']['mae']:.5f} vs baseline "
        f"{result.report['baseline_mean_per_qtype']['mae']:.5f}"
    )
    print(f"peak memory (max RSS of this process): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
