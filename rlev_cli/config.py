"""Settings of every stage, one dataclass each; each field's help is also its --help text. Stdlib only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.prompts import SYSTEM_PROMPT  # noqa: F401  (imported from here by evaluate)


def help_for(config: type, name: str) -> str:
    """The help text of one config field (used by the Typer options)."""
    return next(f.metadata["help"] for f in dataclasses.fields(config) if f.name == name)


def as_dict(config: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()}


@dataclass
class IngestConfig:
    """Settings of `rlev ingest`."""

    out: Path = field(
        default=Path("rlev-workspace"),
        metadata={"help": "Folder for questions.parquet, rejects.parquet and manifest.json (default: the workspace)."},
    )
    format: str = field(
        default="auto",
        metadata={"help": "auto|gaokao|jeebench|ksat|rlev|table|text (auto detects per file and reports its choice)."},
    )
    total: float | None = field(default=None, metadata={"help": "Every exam in these inputs totals N points."})
    totals: Path | None = field(default=None, metadata={"help": "CSV (exam_id,total) or JSON {exam_id: total}."})
    scheme: Path | None = field(
        default=None,
        metadata={
            "help": "JSON marking scheme {exam_id or '*': {type label: full marks}} for data without points (JEEBench)."
        },
    )
    field_map: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "KEY=COLUMN for tables: KEY is "
            "question, answer, score, total, exam_id, options, qtype, subject or id."
        },
    )
    total_from_sum: bool = field(
        default=False,
        metadata={
            "help": "Declare the papers complete: an exam "
            "with no other total gets the sum of its points (common + one elective)."
        },
    )
    test_fraction: float = field(
        default=0.1,
        metadata={
            "help": "Share of questions whose exams go to the test split (whole exams, deterministic under --seed)."
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed of the train/test split."})
    strict: bool = field(default=False, metadata={"help": "Fail (write nothing) if any record is rejected."})
    unscored: bool = field(
        default=False,
        metadata={
            "help": "Keep questions without points (score, total and "
            "value null, value_source 'none') for `rlev predict-values` to label."
        },
    )

    def __post_init__(self) -> None:
        from rlev_cli.ingest.table import MAP_KEYS

        if self.format not in ("auto", "gaokao", "jeebench", "ksat", "rlev", "table", "text"):
            raise RlevError(f"--format {self.format!r}: choose auto, gaokao, jeebench, ksat, rlev, table or text")
        if not 0.0 <= self.test_fraction < 1.0:
            raise RlevError(f"--test-fraction {self.test_fraction}: must be in [0, 1)")
        if self.total is not None and not self.total > 0:
            raise RlevError(f"--total {self.total}: an exam total must be > 0")
        for key in self.field_map:
            if key not in MAP_KEYS:
                raise RlevError(f"--map {key}=…: unknown key; use one of {', '.join(MAP_KEYS)}")


ALGOS = ("reinforce++", "rloo", "grpo")
REPORT_TO = ("none", "wandb", "tensorboard", "trackio", "mlflow")


@dataclass
class TrainConfig:
    """Settings of `rlev train`. Paper defaults (arXiv 2510.20187 §3.2 + its recipe paper): lr 5e-7, one
    epoch, 4 samples per prompt, KL 0.01, 1024-token prompts and responses, temperature 1.0, α = 10."""

    data: Path | None = field(default=None, metadata={"help": "Questions table [default: the workspace's]."})
    model: str = field(default="tiny", metadata={"help": "Hugging Face id, local path, or 'tiny' (offline)."})
    algo: str = field(default="rloo", metadata={"help": "reinforce++ | rloo | grpo."})
    reward: str = field(default="rlev", metadata={"help": "rlev | correctness | uniform | shuffled (ablations)."})
    alpha: float = field(default=10.0, metadata={"help": "α in s(x) = 1 + min(α·v, 1)."})
    value_column: str = field(default="value", metadata={"help": "Column holding v (e.g. value_pred)."})
    num_generations: int = field(default=4, metadata={"help": "Samples per prompt (G)."})
    kl_coef: float = field(default=0.01, metadata={"help": "KL coefficient β (0 = no reference model)."})
    learning_rate: float = field(default=5e-7, metadata={"help": "Learning rate."})
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps; -1 = run --epochs."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the train split."})
    batch_size: int = field(
        default=8,
        metadata={
            "help": "Completions per device per step (TRL's "
            "per_device_train_batch_size); a multiple of --num-generations."
        },
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Gradient accumulation steps."})
    max_prompt_length: int = field(
        default=1024, metadata={"help": "Prompts longer than this (tokens) are left out and counted."}
    )
    max_completion_length: int = field(default=1024, metadata={"help": "Max generated tokens."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    lora_r: int = field(default=0, metadata={"help": "LoRA rank (PEFT); 0 = full fine-tuning."})
    save_steps: int = field(default=100, metadata={"help": "Checkpoint every N steps."})
    logging_steps: int = field(default=1, metadata={"help": "Log metrics every N steps."})
    resume: bool = field(
        default=False, metadata={"help": "Resume the run in --output (or the latest run) from its last checkpoint."}
    )
    seed: int = field(default=0, metadata={"help": "Seed."})
    output: Path | None = field(default=None, metadata={"help": "Run folder [default: <workspace>/runs/<name>]."})
    scale_rewards: str = field(
        default="batch",
        metadata={"help": "GRPO only: batch | none | group ('group' cancels s(x); needs --allow-group-scaling)."},
    )
    allow_group_scaling: bool = field(
        default=False,
        metadata={"help": "Accept GRPO group-std scaling (paper-faithful GRPO; the value weighting is cancelled)."},
    )
    rpp_baseline: bool = field(
        default=False,
        metadata={
            "help": "REINFORCE++: subtract the group-mean reward before whitening (OpenRLHF reinforce_baseline)."
        },
    )
    num_processes: int = field(default=1, metadata={"help": "Data-parallel processes (torchrun)."})
    accelerate_config: str | None = field(
        default=None,
        metadata={
            "help": "Launch with accelerate: a shipped config (multi_gpu, zero2, zero3, multi_node) or a YAML path."
        },
    )
    vllm: str = field(default="none", metadata={"help": "none | colocate | server (vLLM generation, GPU)."})
    vllm_server_url: str | None = field(default=None, metadata={"help": "Base URL of `trl vllm-serve`."})
    judge_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible URL of an LLM judge for free-form answers."}
    )
    judge_model: str | None = field(default=None, metadata={"help": "Model name at --judge-url."})
    verifier: str = field(
        default="rule",
        metadata={"help": "rule | judge | rule+judge: who grades (rule+judge: the judge grades what rules cannot)."},
    )
    verify_timeout: float = field(default=1.0, metadata={"help": "Seconds per answer for the rule checks."})
    recipe: str | None = field(
        default=None,
        metadata={
            "help": "paper: the paper's training schedule (rollouts of 128 prompts x 4, 4 optimizer steps each, "
            "cosine to 0.1 x lr, k1 KL in the reward for every algorithm; docs/training.md)."
        },
    )
    rollout_prompts: int | None = field(
        default=None,
        metadata={"help": "With --recipe paper: prompts per rollout [default: 128]; fewer keep every ratio."},
    )
    report_to: str = field(
        default="none",
        metadata={"help": "Experiment tracking (TRL's report_to): wandb|tensorboard|trackio|mlflow|none."},
    )
    bf16: bool | None = field(default=None, metadata={"help": "bf16 training [default: on with CUDA]."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N train rows."})
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "Policy system prompt for every row [default: the row's system_prompt column, "
            "else the paper's policy prompt]."
        },
    )
    workspace: Path = field(default=Path("rlev-workspace"), metadata={"help": "Workspace folder."})

    def __post_init__(self) -> None:
        from rlev_cli.rewards import REWARD_MODES
        from rlev_cli.verify.grade import VERIFIERS

        if self.verifier not in VERIFIERS:
            raise RlevError(f"--verifier {self.verifier!r}: choose {', '.join(VERIFIERS)}")
        if self.verifier != "rule" and not self.judge_url:
            raise RlevError(f"--verifier {self.verifier} needs a judge: --judge-url and --judge-model")
        if not self.verify_timeout > 0:
            raise RlevError(f"--verify-timeout must be > 0 seconds (got {self.verify_timeout})")

        if self.algo in ("reinforce_pp", "rpp", "reinforce"):
            self.algo = "reinforce++"
        if self.algo not in ALGOS:
            raise RlevError(f"--algo {self.algo!r}: choose reinforce++, rloo or grpo")
        if self.reward not in REWARD_MODES:
            raise RlevError(f"--reward {self.reward!r}: choose {', '.join(REWARD_MODES)}")
        if self.num_generations < 2:
            raise RlevError(
                f"--num-generations {self.num_generations}: needs at least 2 samples per prompt "
                "(group baselines compare samples)"
            )
        if self.recipe not in (None, "paper"):
            raise RlevError(f"--recipe {self.recipe!r}: the one recipe is 'paper'")
        if self.report_to not in REPORT_TO:
            raise RlevError(f"--report-to {self.report_to!r}: choose {', '.join(REPORT_TO)}")
        steps_per_generation = self.gradient_accumulation_steps
        if self.recipe == "paper":
            from rlev_cli.train.recipe import PAPER_ROLLOUT_PROMPTS, recipe_batch

            if self.rollout_prompts is None:
                self.rollout_prompts = PAPER_ROLLOUT_PROMPTS
            if not self.rollout_prompts > 0:
                raise RlevError(f"--rollout-prompts must be > 0 (got {self.rollout_prompts})")
            batch = recipe_batch(
                self.rollout_prompts, self.num_generations, self.num_processes, self.gradient_accumulation_steps
            )
            self.batch_size = batch["per_device_train_batch_size"]  # derived: a quarter of the rollout per step
            steps_per_generation = batch["steps_per_generation"]
        elif self.rollout_prompts is not None:
            raise RlevError("--rollout-prompts goes with --recipe paper")
        generation_batch = self.batch_size * self.num_processes * steps_per_generation
        if generation_batch % self.num_generations:
            raise RlevError(
                f"--batch-size {self.batch_size} x {self.num_processes} process(es) x "
                f"{self.gradient_accumulation_steps} accumulation = {generation_batch} completions, "
                f"not a multiple of --num-generations {self.num_generations}; use e.g. "
                f"--batch-size {self.num_generations * max(1, self.batch_size // self.num_generations)}"
            )
        if self.scale_rewards not in ("batch", "none", "group"):
            raise RlevError(f"--scale-rewards {self.scale_rewards!r}: choose batch, none or group")
        if (
            self.algo == "grpo"
            and self.scale_rewards == "group"
            and self.reward in ("rlev", "shuffled", "uniform")
            and not self.allow_group_scaling
        ):
            raise RlevError(
                "--scale-rewards group divides s(x) back out (per-group std), so values would be "
                "ignored; use --scale-rewards batch or none, or add --allow-group-scaling"
            )
        if self.vllm not in ("none", "colocate", "server"):
            raise RlevError(f"--vllm {self.vllm!r}: choose none, colocate or server")
        if (self.judge_url is None) != (self.judge_model is None):
            raise RlevError("--judge-url and --judge-model go together")
        for name in (
            "learning_rate",
            "max_prompt_length",
            "max_completion_length",
            "batch_size",
            "save_steps",
            "num_processes",
            "gradient_accumulation_steps",
            "logging_steps",
        ):
            if not getattr(self, name) > 0:
                raise RlevError(f"--{name.replace('_', '-')} must be > 0 (got {getattr(self, name)})")
        if not self.temperature > 0:
            raise RlevError(f"--temperature must be > 0 (got {self.temperature}): training samples, never greedy")
        if self.kl_coef < 0:
            raise RlevError(f"--kl-coef must be >= 0 (got {self.kl_coef})")
        if not self.alpha > 0:
            raise RlevError(f"--alpha must be > 0 (got {self.alpha}); s(x) = 1 + min(alpha * v, 1)")
        if not self.epochs > 0:
            raise RlevError(f"--epochs must be > 0 (got {self.epochs})")
        if self.max_steps == 0 or self.max_steps < -1:
            raise RlevError(f"--max-steps must be > 0, or -1 to run --epochs (got {self.max_steps})")
        if self.lora_r < 0:
            raise RlevError(f"--lora-r must be > 0 (a LoRA rank), or 0 for full fine-tuning (got {self.lora_r})")


DIFFICULTY_LEVELS = {  # WebInstruct-verified levels -> points out of 100 (arXiv 2510.20187 §3.2)
    "primary school": 1.0,
    "junior high school": 2.0,
    "senior high school": 4.0,
    "university": 6.0,
    "phd": 8.0,
}


@dataclass
class ValuesConfig:
    """Settings of `rlev predict-values`."""

    data: Path = field(
        default=Path("rlev-workspace/questions.parquet"),
        metadata={"help": "Questions table [default: the workspace's]."},
    )
    out: Path | None = field(default=None, metadata={"help": "Output table [default: overwrite --data]."})
    target: str = field(
        default="auto",
        metadata={
            "help": "value | score | auto: predict v directly, or points "
            "then divide by the exam total (auto: whichever cross-validates better)."
        },
    )
    replace_all: bool = field(
        default=False,
        metadata={
            "help": "Also replace ground-truth values (the paper's "
            "noisy-value ablation); the originals stay in value_original."
        },
    )
    from_difficulty: str | None = field(
        default=None,
        metadata={
            "help": "Column of difficulty levels instead of a regressor: primary school, junior high school, "
            "senior high school, university, phd (or 1-5 in that order) -> values 0.01, 0.02, 0.04, 0.06, 0.08."
        },
    )
    model_out: Path | None = field(
        default=None, metadata={"help": "Where to save the fitted model (.skops) [default: beside --out]."}
    )
    model_in: Path | None = field(default=None, metadata={"help": "Apply a saved model; no refitting."})
    default_total: float = field(
        default=100.0, metadata={"help": "Exam total assumed for rows without one (the paper's predictor uses 100)."}
    )
    folds: int = field(default=5, metadata={"help": "Cross-validation folds (grouped by exam)."})
    seed: int = field(default=0, metadata={"help": "Seed."})

    def __post_init__(self) -> None:
        if self.target not in ("auto", "value", "score"):
            raise RlevError(f"--target {self.target!r}: choose value, score or auto")
        if self.folds < 2:
            raise RlevError("--folds must be at least 2")
        if not self.default_total > 0:
            raise RlevError("--default-total must be > 0")
        if self.model_in and self.model_out:
            raise RlevError("--model-in applies a saved model; --model-out saves a fitted one: choose one")


@dataclass
class EvalConfig:
    """Settings of `rlev evaluate`."""

    runs: list[Path] = field(default_factory=list, metadata={"help": "Run folders [default: the latest run]."})
    models: list[str] = field(
        default_factory=list, metadata={"help": "Models instead of runs: hub id, path or 'tiny' (repeatable)."}
    )
    data: Path | None = field(
        default=None, metadata={"help": "Questions table for in-domain items [default: the workspace's]."}
    )
    split: str = field(default="test", metadata={"help": "Split of the questions table to evaluate."})
    benchmarks: str = field(
        default="indomain",
        metadata={"help": "Comma list of indomain, gpqa_diamond, mmlu_pro, ceval, supergpqa, or 'all'."},
    )
    data_dir: Path | None = field(
        default=None,
        metadata={
            "help": "Local benchmark files <benchmark>.jsonl|.parquet|.csv in the hub schema, instead of the hub."
        },
    )
    limit: int | None = field(default=None, metadata={"help": "At most N items per benchmark (the first N)."})
    backend: str = field(default="hf", metadata={"help": "hf | vllm | openai."})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible server URL (--backend openai)."})
    concurrency: int = field(default=16, metadata={"help": "Requests in flight (--backend openai)."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generate call (hf)."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Max generated tokens (paper: 1024)."})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy (the paper's evaluation)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM tensor parallel size."})
    data_parallel_size: int = field(default=1, metadata={"help": "vLLM data parallel size."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vLLM memory fraction (on CPU: of RAM)."})
    responses: Path | None = field(
        default=None,
        metadata={"help": "Score these responses (JSONL/Parquet with benchmark, id, response); no generation."},
    )
    ceval_split: str = field(default="val", metadata={"help": "C-Eval split (val; test has answers since 2025-07)."})
    variants: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Prompt variant BENCH=NAME (repeatable), e.g. mmlu_pro=official-cot-5shot (docs/evaluation.md)."
        },
    )
    allow_train_overlap: bool = field(
        default=False,
        metadata={"help": "Evaluate a run even on items it trained on (warned, listed in leakage.json)."},
    )
    judge_url: str | None = field(default=None, metadata={"help": "LLM judge URL for free-form in-domain answers."})
    judge_model: str | None = field(default=None, metadata={"help": "Model name at --judge-url."})
    seed: int = field(default=0, metadata={"help": "Seed (GPQA option permutations, sampling)."})
    out: Path | None = field(
        default=None, metadata={"help": "Output folder [default: RUN/eval, or <workspace>/eval/<time> for several]."}
    )
    workspace: Path = field(default=Path("rlev-workspace"), metadata={"help": "Workspace folder."})

    def __post_init__(self) -> None:
        from rlev_cli.evaluate.benchmarks import ALL

        names = ALL if self.benchmarks == "all" else tuple(b.strip() for b in self.benchmarks.split(",") if b.strip())
        unknown = [b for b in names if b not in ALL]
        if unknown or not names:
            raise RlevError(
                f"--benchmarks: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(ALL)} or all"
            )
        self.benchmarks = ",".join(names)
        if self.backend not in ("hf", "vllm", "openai"):
            raise RlevError(f"--backend {self.backend!r}: choose hf, vllm or openai")
        if self.backend == "openai" and not self.base_url and not self.responses:
            raise RlevError("--backend openai needs --base-url")
        if self.limit is not None and self.limit < 1:
            raise RlevError("--limit must be >= 1")
        if self.temperature < 0 or self.max_new_tokens < 1 or self.batch_size < 1 or self.concurrency < 1:
            raise RlevError("--temperature >= 0, --max-new-tokens, --batch-size and --concurrency >= 1")

        from rlev_cli.evaluate.benchmarks import VARIANTS

        for spec in self.variants:
            benchmark, _, name = spec.partition("=")
            if benchmark not in VARIANTS or name not in VARIANTS[benchmark]:
                known = "; ".join(f"{b}: {', '.join(v)}" for b, v in VARIANTS.items())
                raise RlevError(f"--variant {spec!r}: unknown; choose BENCH=NAME from {known}")

    @property
    def benchmark_list(self) -> list[str]:
        return self.benchmarks.split(",")

    def variant(self, benchmark: str) -> str | None:
        """The prompt variant asked for this benchmark (the last --variant wins), or None for the default."""
        chosen = [spec.partition("=")[2] for spec in self.variants if spec.partition("=")[0] == benchmark]
        return chosen[-1] if chosen else None
