"""Ingest throughput, whole process (`python -m rlev_cli ingest ...` as a user runs it), on three shapes,
against `pyarrow.json.read_json` of the same file measured in the same run.

- `mixed`: 1M RLEV-format JSONL rows in four scripts, 50 questions per exam (the original benchmark);
- `zh`: 1M Chinese questions, 20,000 exams of 50 (issue #9 target: >= 150k questions/s whole process);
- `release`: the RLEV release's shape and size, 108k rows of a JSON list whose `query` is [system, user]
  chat messages, no exam id, train/test by file name (issue #9 target: under 2 s whole process).

Usage: python benchmarks/ingest_speed.py [--shape mixed|zh|release|all] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM = (
    "You are a chatbot who can solve problems. Please solve the following problem and give your thought "
    'process. Before giving the final result, you should output "Therefore, the answer is", and then give '
    "your final answer."
)
ZH_STEMS = [
    "已知函数 f(x)=x^2+{a}x+{b}，求 f(x) 在区间 [0, {b}] 上的最小值，并说明理由。",
    "在等差数列中，首项为 {a}，公差为 {b}，求第 20 项的值。",
    "下列关于物质结构的说法中，正确的是（  ）\nA. 选项{a}\nB. 选项{b}\nC. 选项{a}{b}\nD. 以上都不对",
    "某校有学生 {a} 人，其中男生 {b} 人，用分层抽样的方法抽取 50 人，求应抽取的女生人数。",
]


def build_mixed(path: Path, rows: int, rng: random.Random) -> None:
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


def build_zh(path: Path, rows: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            a, b = rng.randint(1, 999), rng.randint(1, 999)
            record = {
                "query": ZH_STEMS[i % 4].format(a=a, b=b) + f"（第{i}题）",
                "label": rng.choice(["A", "B", "C", "D", str(a + b), f"\\frac{{{a}}}{{{b}}}"]),
                "score": rng.choice([4, 5, 6, 10, 12]),
                "total": rng.choice([150, 300]),
                "exam_id": f"gaokao-{2000 + (i // 50) % 25}-卷{i // 50:05d}",
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def build_release(folder: Path, rows: int, rng: random.Random) -> None:
    """train 92.6 % / test 7.4 % (100k / 8k of 108k), half English, half Chinese, one JSON list each."""
    folder.mkdir()
    n_test = rows * 8 // 108
    for split, count in (("train", rows - n_test), ("test", n_test)):
        for lang in ("en", "zh"):
            records = []
            for i in range(count // 2):
                a, b = rng.randint(1, 999), rng.randint(1, 999)
                question = (
                    ZH_STEMS[i % 4].format(a=a, b=b) + f"（{split}{i}）"
                    if lang == "zh"
                    else f"Let f(x) = x^2 + {a}x + {b}. Find the minimum of f on [0, {b}]. ({split} {i})"
                )
                records.append(
                    {
                        "query": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
                        "label": str(a + b),
                        "score": rng.choice([4, 5, 6, 10, 12]),
                        "total": rng.choice([100, 150, 300]),
                    }
                )
            (folder / f"RLEV_{split}_{lang}.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


def raw_read_seconds(path: Path) -> float:
    """pyarrow's JSON reader on the same bytes (JSONL), or json.loads + Table.from_pylist (a JSON list)."""
    import pyarrow.json as pjson

    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    start = time.perf_counter()
    for file in files:
        if file.suffix == ".jsonl":
            pjson.read_json(file)
        else:
            import pyarrow as pa

            pa.Table.from_pylist(json.loads(file.read_bytes()))
    return time.perf_counter() - start


def whole_process_seconds(path: Path, out: Path) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system: steadier on a shared machine) and the --json summary."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rlev_cli", "ingest", str(path), "-o", str(out), "--json"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"rlev ingest failed: {done.stderr.strip()}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu, json.loads(done.stdout)


def run(shape: str, rows: int) -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("release" if shape == "release" else f"{shape}.jsonl")
        {"mixed": build_mixed, "zh": build_zh, "release": build_release}[shape](path, rows, rng)
        size = sum(p.stat().st_size for p in path.glob("*")) if path.is_dir() else path.stat().st_size
        raw_s = raw_read_seconds(path)
        seconds, cpu, summary = whole_process_seconds(path, Path(tmp) / "out")
    assert summary["questions"] == rows, summary
    rate = rows / seconds
    print(
        f"[{shape}] {rows:,} questions, {size / 1e6:.0f} MB, {summary['exams']:,} exams, "
        f"train {summary['train']:,} / test {summary['test']:,}"
    )
    print(
        f"[{shape}] raw read: {raw_s:.2f} s; rlev ingest whole process: {seconds:.2f} s wall ({rate:,.0f} q/s), "
        f"{cpu:.2f} s CPU (user + system); wall ratio to the raw read {seconds / raw_s:.1f}x"
    )
    if shape == "zh":
        print(f"[zh] target >= 150,000 q/s whole process: {'met' if rate >= 150_000 else 'NOT met'}")
    if shape == "release":
        print(f"[release] target < 2 s whole process: {'met' if seconds < 2 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=("mixed", "zh", "release", "all"), default="all")
    parser.add_argument("--rows", type=int, default=None, help="default: 1,000,000 (mixed, zh), 108,000 (release)")
    args = parser.parse_args()
    for shape in ("mixed", "zh", "release") if args.shape == "all" else (args.shape,):
        run(shape, args.rows or (108_000 if shape == "release" else 1_000_000))


if __name__ == "__main__":
    main()
