"""`run_demo`: the whole RLEV chain on a synthetic exam, through the real stages and files.

1. write the papers as JSONL files (`task.py`) and `rlev ingest` them (the ingest core);
2. build the small model and warm-start it with TRL's SFTTrainer on the train split;
3. `rlev train` (the train core, RLOO) from that start with every reward mode and seed;
4. `rlev evaluate` (the evaluate core) each run and the warm start on the held-out papers (and, for the
   learning check, greedy on the train papers);
5. the tables: the paper's ablation table with mean ± std over seeds and the paired difference rlev − mode,
   reward and accuracy per step by value bucket (from each run's rollouts.parquet), and the gradient
   each value bucket contributes on a fixed batch (`rlev_cli.train.gradients`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq

from rlev_cli.demo.config import DemoConfig
from rlev_cli.demo.task import make_papers, write_papers

QUESTIONS_PER_PAPER = 20
PROMPTS_PER_STEP, GENERATIONS = 16, 4
MAX_COMPLETION_TOKENS = 8
METRICS = ("acc", "h_acc", "mean_length", "value_density")
BUCKETS = ("all", "bottom20", "middle60", "top20")


@dataclass
class DemoResult:
    """The demo's tables (also written as Parquet under `out_dir`, at `paths`) and the seconds each
    phase took."""

    out_dir: Path
    ablation: list[dict[str, Any]]  # one row per mode x bucket x metric
    per_step: list[dict[str, Any]]  # one row per mode x seed x step x bucket
    tilt: list[dict[str, Any]]  # one row per estimator x mode
    learning: list[dict[str, Any]]  # per run: reward and greedy train accuracy, start vs end
    paths: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(config: DemoConfig, progress: Callable[[str], None] | None = None) -> DemoResult:
    """The whole chain on the synthetic exam (steps in the module docstring); `progress` gets one line
    per phase."""
    say = progress or (lambda _msg: None)
    out_dir = Path(config.out)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    workspace = out_dir / "workspace"
    questions = ingest_papers(out_dir, config)
    lap("ingest")
    say(f"ingested {questions}; warm start ({config.sft_steps} SFT steps)")
    warm = warm_start(questions, out_dir / "models", config)
    lap("warm_start")
    runs: dict[tuple[str, int], Path] = {}
    for seed in config.seeds:
        for mode in config.modes:
            say(f"train rloo/{mode} seed {seed} ({config.steps} steps)")
            runs[(mode, seed)] = train_run(
                questions, warm, workspace, out_dir / "runs" / f"{mode}-seed{seed}", mode, seed, config
            )
    lap("train")
    say("evaluate the warm start and every run (held-out papers, and train papers greedy)")
    test = {key: evaluate(run, questions, workspace, "test", threads=config.threads) for key, run in runs.items()}
    train = {key: evaluate(run, questions, workspace, "train", threads=config.threads) for key, run in runs.items()}
    warm_test = evaluate(warm, questions, workspace, "test", out_dir / "eval-warm" / "test", config.threads)
    warm_train = evaluate(warm, questions, workspace, "train", out_dir / "eval-warm" / "train", config.threads)
    lap("evaluate")
    ablation = ablation_rows(test, warm_test, config)
    per_step = per_step_rows(runs, questions)
    learning = learning_rows(runs, train, warm_train)
    say("gradient per value bucket on a fixed batch")
    tilt = measure_tilt(warm, questions, config) if config.measure_gradients else []
    if {"correctness", "rlev"} <= set(config.modes):  # Figure 2 on seed 0: baseline vs RLEV
        from rlev_cli.analysis.termination import run_termination

        seed = config.seeds[0]
        say("termination analysis (Figure 2): correctness vs rlev")
        termination = run_termination([runs[("correctness", seed)], runs[("rlev", seed)]], out_dir / "termination")
    lap("analysis")
    paths = {
        "ablation": out_dir / "ablation.parquet",
        "per_step": out_dir / "per_step.parquet",
        "gradient_tilt": out_dir / "gradient_tilt.parquet",
        "learning": out_dir / "learning.parquet",
    }
    from rlev_cli.schema import write_table

    meta = {"config": {k: str(v) for k, v in vars(config).items()}}
    for name, rows in (("ablation", ablation), ("per_step", per_step), ("gradient_tilt", tilt), ("learning", learning)):
        write_table(pa.Table.from_pylist(rows), paths[name], f"demo_{name}", meta)
    from rlev_cli.demo.plots import plot_per_step

    paths["plot"] = plot_per_step(per_step, out_dir / "per_step.png")
    if {"correctness", "rlev"} <= set(config.modes):
        paths["termination"], paths["termination_plot"] = termination.table_path, termination.plot_path
    lap("tables")
    return DemoResult(out_dir, ablation, per_step, tilt, learning, paths, seconds)


def ingest_papers(out_dir: Path, config: DemoConfig) -> Path:
    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig

    papers_dir = out_dir / "papers"
    write_papers(make_papers(config.papers, QUESTIONS_PER_PAPER, config.data_seed), papers_dir)
    result = run_ingest(
        [papers_dir],
        IngestConfig(
            out=out_dir / "workspace", format="rlev", test_fraction=config.test_fraction, seed=config.data_seed
        ),
    )
    return result.questions_path


def _train_rows(questions: Path, split: str = "train") -> list[dict[str, Any]]:
    import pyarrow.compute as pc

    table = pq.read_table(questions)
    return cast(list[dict[str, Any]], table.filter(pc.equal(table["split"], split)).to_pylist())


def warm_start(questions: Path, models_dir: Path, config: DemoConfig) -> Path:
    """A random small model, then TRL's SFTTrainer on (prompt, answer) of the train split."""
    import os

    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rlev_cli.demo.task import DEMO_MARKER, build_model
    from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
    from rlev_cli.tiny import load_tokenizer, quiet_transformers

    quiet_transformers()
    warm = models_dir / "warm"
    settings = {"sft_steps": config.sft_steps, "data_seed": config.data_seed, "papers": config.papers}
    marker = warm / "demo_warm_start.json"
    if marker.exists() and json.loads(marker.read_text()) == settings:
        return warm  # a re-run keeps the warm start (and so the runs trained from it)
    import datasets

    datasets.disable_progress_bars()
    init = build_model(models_dir / "init", seed=config.data_seed)
    from rlev_cli.threads import set_torch_threads

    set_torch_threads(config.threads, init)  # train and evaluate apply the same rule to their model
    tokenizer = load_tokenizer(str(init))
    rows = [
        {
            "prompt": tokenizer.apply_chat_template(
                policy_messages(r["question"], SYSTEM_PROMPT), tokenize=False, add_generation_prompt=True
            ),
            "completion": " " + r["answer"] + tokenizer.eos_token,
        }
        for r in _train_rows(questions)
    ]
    args = SFTConfig(
        output_dir=str(models_dir / "sft-checkpoints"),
        max_steps=config.sft_steps,
        per_device_train_batch_size=64,
        learning_rate=2e-3,
        lr_scheduler_type="constant",
        logging_steps=max(1, config.sft_steps // 5),
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=config.data_seed,
        completion_only_loss=True,
        activation_checkpointing=False,
        disable_tqdm=True,
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(model=str(init), args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.train()
    trainer.save_model(str(warm))
    tokenizer.save_pretrained(str(warm))
    (warm / DEMO_MARKER).write_text((init / DEMO_MARKER).read_text(), encoding="utf-8")
    marker.write_text(json.dumps(settings), encoding="utf-8")  # written last: a complete warm start
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return warm


def train_run(
    questions: Path, warm: Path, workspace: Path, run_dir: Path, mode: str, seed: int, config: DemoConfig
) -> Path:
    from rlev_cli.train.config import TrainConfig
    from rlev_cli.train.core import run_training

    train_config = TrainConfig(
        data=questions,
        model=str(warm),
        algo="rloo",
        reward=mode,
        num_generations=GENERATIONS,
        kl_coef=config.kl_coef,
        learning_rate=config.learning_rate,
        max_steps=config.steps,
        batch_size=PROMPTS_PER_STEP * GENERATIONS,
        max_completion_length=MAX_COMPLETION_TOKENS,
        max_prompt_length=64,
        save_steps=config.steps + 1,
        seed=seed,
        output=run_dir,
        workspace=workspace,
        threads=config.threads,
    )
    if _finished_same(run_dir, train_config):
        return run_dir  # a re-run of the demo keeps finished runs of the same settings
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    return run_training(train_config).run_dir


def _finished_same(run_dir: Path, train_config: Any) -> bool:
    """True when run_dir holds a finished run (manifest written last) of exactly these settings."""
    from rlev_cli.settings import as_dict

    try:
        saved = json.loads((run_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    from rlev_cli.train.core import comparable_setting

    wanted = as_dict(train_config)
    keys = ("model", "algo", "reward", "seed", "max_steps", "learning_rate", "kl_coef", "batch_size", "data")
    return (run_dir / "manifest.json").exists() and all(
        str(comparable_setting(k, saved.get(k))) == str(comparable_setting(k, wanted.get(k))) for k in keys
    )  # config.json keeps absolute paths; the demo's own may be relative


def evaluate(
    run_or_model: Path,
    questions: Path,
    workspace: Path,
    split: str,
    out: Path | None = None,
    threads: int | None = None,
) -> Path:
    """Greedy `rlev evaluate` of a run folder (or, with `out`, of a model folder); its summary.parquet."""
    from rlev_cli.evaluate.config import EvalConfig
    from rlev_cli.evaluate.core import run_evaluation

    is_run = (Path(run_or_model) / "config.json").exists() and (Path(run_or_model) / "model").exists()
    config = EvalConfig(
        runs=[run_or_model] if is_run else [],
        models=[] if is_run else [str(run_or_model)],
        data=questions,
        split=split,
        max_new_tokens=MAX_COMPLETION_TOKENS,
        batch_size=128,
        out=out or Path(run_or_model) / ("eval" if split == "test" else f"eval-{split}"),  # eval/: as `rlev evaluate`
        workspace=workspace,
        # the learning check scores the run on the papers it trained on, on purpose (greedy accuracy there)
        allow_train_overlap=split == "train",
        threads=threads,
    )
    return run_evaluation(config).summary_path


def _summary(path: Path) -> dict[str, dict[str, float]]:
    """bucket -> metric -> value, for the in-domain rows of one model's summary.parquet."""
    rows = [r for r in pq.read_table(path).to_pylist() if r["benchmark"] == "indomain"]
    return {r["bucket"]: {m: r[m] for m in METRICS} for r in rows}


def ablation_rows(test: dict[tuple[str, int], Path], warm: Path, config: DemoConfig) -> list[dict[str, Any]]:
    """mode x bucket x metric: mean and std over seeds, change from the warm start, and the paired
    difference rlev − mode (per seed, then mean and std)."""
    summaries = {key: _summary(path) for key, path in test.items()}
    start = _summary(warm)
    rows = []
    for mode in config.modes:
        for bucket in BUCKETS:
            for metric in METRICS:
                xs = [summaries[(mode, s)][bucket][metric] for s in config.seeds if bucket in summaries[(mode, s)]]
                if not xs:
                    continue
                diffs = (
                    [
                        summaries[("rlev", s)][bucket][metric] - summaries[(mode, s)][bucket][metric]
                        for s in config.seeds
                    ]
                    if "rlev" in config.modes
                    else []
                )
                rows.append(
                    {
                        "mode": mode,
                        "bucket": bucket,
                        "metric": metric,
                        "mean": statistics.fmean(xs),
                        "std": statistics.stdev(xs) if len(xs) > 1 else float("nan"),
                        "n_seeds": len(xs),
                        "warm_start": start[bucket][metric],
                        "change_from_warm": statistics.fmean(xs) - start[bucket][metric],
                        "rlev_minus_mode": statistics.fmean(diffs) if diffs else float("nan"),
                        "rlev_minus_mode_std": statistics.stdev(diffs) if len(diffs) > 1 else float("nan"),
                    }
                )
    return rows


def _value_bucket_of(questions: Path) -> dict[str, str]:
    """Question id -> value bucket (bottom20 / middle60 / top20 of the train split by the TRUE value, so a
    shuffled run is bucketed by what its prompts are worth, not by the values its reward saw)."""
    from rlev_cli.train.gradients import value_buckets

    rows = _train_rows(questions)
    names = value_buckets([r["value"] for r in rows])
    return {r["id"]: name for r, name in zip(rows, names, strict=True)}


def per_step_rows(runs: dict[tuple[str, int], Path], questions: Path) -> list[dict[str, Any]]:
    """Sampled reward and accuracy per training step and value bucket, from each run's rollouts.parquet."""
    bucket_of = _value_bucket_of(questions)
    rows = []
    for (mode, seed), run in runs.items():
        groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for r in pq.read_table(run / "rollouts.parquet").to_pylist():
            for bucket in ("all", bucket_of.get(r["id"], "unknown")):
                groups.setdefault((r["step"], bucket), []).append(r)
        for (step, bucket), members in sorted(groups.items()):
            graded = [m for m in members if m["correct"] is not None]
            rows.append(
                {
                    "mode": mode,
                    "seed": seed,
                    "step": step,
                    "bucket": bucket,
                    "n": len(members),
                    "reward": statistics.fmean(m["reward"] or 0.0 for m in members),
                    "accuracy": statistics.fmean(float(m["correct"]) for m in graded) if graded else float("nan"),
                    "mean_length": statistics.fmean(m["length"] for m in members),
                }
            )
    return rows


def greedy_reward(summary_path: Path, alpha: float = 10.0) -> float:
    """Mean RLEV reward s(x)·1[correct] of the greedy answers in an evaluation (its predictions.parquet)."""
    from rlev_cli.rewards import value_scale

    rows = pq.read_table(summary_path.parent / "predictions.parquet").to_pylist()
    graded = [r for r in rows if r["benchmark"] == "indomain" and r["correct"] is not None]
    return statistics.fmean(value_scale(r["value"], alpha) * r["correct"] for r in graded)


def learning_rows(
    runs: dict[tuple[str, int], Path], train: dict[tuple[str, int], Path], warm_train: Path
) -> list[dict[str, Any]]:
    """Per run, on the train papers: greedy accuracy and greedy RLEV reward before (the warm start) and
    after training, and the sampled reward of the first and last 10 steps (noisier: 64 samples a step)."""
    start = _summary(warm_train)["all"]
    start_reward = greedy_reward(warm_train)
    rows = []
    for key, run in runs.items():
        rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
        steps = sorted({r["step"] for r in rollouts})
        first, last = set(steps[:10]), set(steps[-10:])
        rows.append(
            {
                "mode": key[0],
                "seed": key[1],
                "train_acc_warm": start["acc"],
                "train_acc_end": _summary(train[key])["all"]["acc"],
                "greedy_reward_warm": start_reward,
                "greedy_reward_end": greedy_reward(train[key]),
                "sampled_reward_first10": statistics.fmean(r["reward"] or 0.0 for r in rollouts if r["step"] in first),
                "sampled_reward_last10": statistics.fmean(r["reward"] or 0.0 for r in rollouts if r["step"] in last),
                "run_dir": str(run),
            }
        )
    return rows


def measure_tilt(warm: Path, questions: Path, config: DemoConfig, n_prompts: int = 64) -> list[dict[str, Any]]:
    """Gradient per value bucket on one fixed batch sampled from the warm start (64 prompts x 4)."""
    import random

    from transformers import AutoModelForCausalLM

    from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
    from rlev_cli.tiny import load_tokenizer
    from rlev_cli.train.gradients import sample_probe_batch, tilt_rows

    rows = _train_rows(questions)
    rows = random.Random(config.data_seed).sample(rows, min(n_prompts, len(rows)))
    tokenizer = load_tokenizer(str(warm))
    model = AutoModelForCausalLM.from_pretrained(str(warm))
    batch = sample_probe_batch(
        model,
        tokenizer,
        [policy_messages(r["question"], SYSTEM_PROMPT) for r in rows],
        [r["answer"] for r in rows],
        [r["qtype"] for r in rows],
        [r["value"] for r in rows],
        num_generations=GENERATIONS,
        max_new_tokens=MAX_COMPLETION_TOKENS,
        seed=config.data_seed,
    )
    # grpo_none is RLOO times (G-1)/G: the same tilt, so it is left out
    estimators = ("rloo", "reinforce++", "grpo_batch", "grpo_group")
    return tilt_rows(model, batch, estimators=estimators, shuffle_seeds=(0, 1, 2, 3))


def table_for_print(ablation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ablation table as the paper prints it: one row per mode and bucket, mean ± std over seeds, the
    change from the warm start and the paired difference rlev − mode (Acc and H-Acc, in points)."""
    names = {"acc": "Acc", "h_acc": "H-Acc", "mean_length": "len", "value_density": "dens"}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in ablation:
        row = out.setdefault((r["mode"], r["bucket"]), {"mode": r["mode"], "bucket": r["bucket"]})
        name, digits = names[r["metric"]], 3 if r["metric"] == "value_density" else 1
        row[name] = f"{r['mean']:.{digits}f}" + ("" if r["std"] != r["std"] else f"±{r['std']:.{digits}f}")
        if r["metric"] in ("acc", "h_acc"):
            row[f"Δwarm {name}"] = f"{r['change_from_warm']:+.1f}"
            diff, sd = r["rlev_minus_mode"], r["rlev_minus_mode_std"]
            shown = "-" if r["mode"] == "rlev" or diff != diff else f"{diff:+.1f}" + ("" if sd != sd else f"±{sd:.1f}")
            row[f"rlev−mode {name}"] = shown
    return list(out.values())
