"""Settings of `rlev train`: one declaration each (field = Python argument = YAML key = flag).

Paper defaults (arXiv 2510.20187 §3.2 + its recipe paper): lr 5e-7, one epoch, 4 samples per prompt,
KL 0.01, 1024-token prompts and responses, temperature 1.0, α = 10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.rewards import REWARD_MODES
from rlev_cli.settings import setting
from rlev_cli.threads import ThreadSettings
from rlev_cli.valuecheck import ValueSettings
from rlev_cli.verify.settings import GradingSettings
from rlev_cli.workspace import WorkspaceSettings

ALGOS = ("reinforce++", "rloo", "grpo")
ALGO_ALIASES = {"reinforce_pp": "reinforce++", "rpp": "reinforce++", "reinforce": "reinforce++"}
SCALE_REWARDS = ("batch", "none", "group")
VLLM_MODES = ("none", "colocate", "server")
REPORT_TO = ("none", "wandb", "tensorboard", "trackio", "mlflow")
RECIPES = ("paper",)
KL_FORMS = ("trl", "openrlhf")
# TRL 1.16 GRPOConfig.loss_type (tests/train/test_trl_settings.py reads them from TRL's own help)
LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")


@dataclass
class TrainConfig(GradingSettings, ThreadSettings, ValueSettings, WorkspaceSettings):
    """Settings of `rlev train`."""

    data: Path | None = setting(None, help="Questions table [default: the workspace's].")
    model: str = setting(
        "tiny",
        metavar="ID|PATH|tiny",
        help="Hugging Face id, local folder, GGUF file, smollm2-135m-instruct (GGUF) or 'tiny' (offline).",
    )
    algo: str = setting("rloo", choices=ALGOS, help="RL estimator.")
    reward: str = setting("rlev", choices=REWARD_MODES, help="Reward mode: rlev, or the paper's ablations.")
    alpha: float = setting(10.0, help="α in s(x) = 1 + min(α·v, 1).")
    value_column: str = setting("value", help="Column holding v (e.g. value_pred).")
    num_generations: int = setting(4, help="Samples per prompt (G).")
    kl_coef: float = setting(0.01, help="KL coefficient β (0 = no reference model).")
    learning_rate: float = setting(5e-7, help="Learning rate.")
    max_steps: int = setting(-1, help="Optimizer steps; -1 = run --epochs.")
    epochs: float = setting(1.0, help="Passes over the train split.")
    batch_size: int = setting(
        8,
        help="Completions per device per step (TRL's per_device_train_batch_size); a multiple of --num-generations.",
    )
    gradient_accumulation_steps: int = setting(1, help="Gradient accumulation steps.")
    max_prompt_length: int = setting(1024, help="Prompts longer than this (tokens) are left out and counted.")
    max_completion_length: int = setting(1024, help="Max generated tokens.")
    temperature: float = setting(1.0, help="Sampling temperature.")
    top_p: float = setting(
        1.0, help="Nucleus sampling: sample from the smallest token set of this probability (TRL's top_p)."
    )
    top_k: int = setting(0, help="Sample from the k likeliest tokens; 0 = all (TRL's top_k).")
    loss_type: str = setting(
        "dapo",
        choices=LOSS_TYPES,
        help="GRPO and REINFORCE++: TRL's loss aggregation (dapo = token mean over the whole batch; "
        "docs/training.md). RLOO's loss is per sequence and has none.",
    )
    epsilon: float = setting(0.2, help="PPO clip ε: the ratio is clipped to [1 − ε, 1 + ε] (TRL's epsilon).")
    epsilon_high: float | None = setting(
        None, help="Upper clip ε (DAPO's clip-higher, e.g. 0.28) [default: --epsilon] (TRL's epsilon_high)."
    )
    gradient_checkpointing: bool = setting(
        False,
        help="Recompute activations in the backward pass instead of keeping them: far less memory (a 7B model "
        "on one GPU), about 20-30% slower (transformers' activation_checkpointing).",
    )
    lora_r: int = setting(0, help="LoRA rank (PEFT); 0 = full fine-tuning.")
    lora_alpha: int | None = setting(None, help="LoRA alpha (scale alpha / r) [default: 2 x --lora-r].")
    lora_dropout: float = setting(0.0, help="LoRA dropout.")
    lora_target_modules: list[str] = setting(
        factory=lambda: ["all-linear"],
        flags=("--lora-target-module",),
        help="Modules LoRA adapts (repeatable), e.g. q_proj, v_proj [default: all-linear: every linear layer "
        "but the output head].",
    )
    eval_steps: int = setting(
        0,
        help="Every N steps, sample the test split (G samples per prompt at --temperature) and log eval_reward, "
        "lengths and clip ratios to metrics.parquet (TRL's eval_strategy=steps); 0 = off.",
    )
    trl: dict[str, Any] = setting(
        factory=dict,
        flags=("--trl",),
        metavar="KEY=VALUE",
        help="Any other field of TRL's GRPOConfig / RLOOConfig (repeatable), checked against its name and type, "
        "e.g. --trl num_iterations=2 --trl mask_truncated_completions=true; fields with an rlev option are set "
        "by that option.",
    )
    save_steps: int = setting(100, help="Checkpoint every N steps.")
    logging_steps: int = setting(1, help="Log metrics every N steps.")
    resume: bool = setting(False, help="Resume the run in --output (or the latest run) from its last checkpoint.")
    allow_new_data: bool = setting(
        False,
        help="With --resume: continue on a questions table whose SHA-256 differs from the run's "
        "(recorded as a new data segment; train_ids.parquet keeps both).",
    )
    seed: int = setting(0, help="Seed.")
    output: Path | None = setting(None, help="Run folder [default: <workspace>/runs/<name>].")
    scale_rewards: str = setting(
        "batch",
        choices=SCALE_REWARDS,
        help="GRPO only: reward scaling ('group' cancels s(x); needs --allow-group-scaling).",
    )
    allow_group_scaling: bool = setting(
        False, help="Accept GRPO group-std scaling (paper-faithful GRPO; the value weighting is cancelled)."
    )
    rpp_baseline: bool = setting(
        False, help="REINFORCE++: subtract the group-mean reward before whitening (OpenRLHF reinforce_baseline)."
    )
    kl_form: str | None = setting(
        None,
        choices=KL_FORMS,
        help="Where the KL goes (rloo, grpo): 'trl' = TRL's own (RLOO: the summed k1 off the reward before the "
        "baseline; GRPO: k3 in the loss), 'openrlhf' = the per-token k1 reward-to-go after the baseline "
        "(OpenRLHF) [default: trl; openrlhf for grpo under --recipe paper and always for reinforce++].",
    )
    num_processes: int = setting(1, help="Data-parallel processes (torchrun).")
    accelerate_config: str | None = setting(
        None, help="Launch with accelerate: a shipped config (multi_gpu, zero2, zero3, multi_node) or a YAML path."
    )
    vllm: str = setting(
        "none",
        choices=VLLM_MODES,
        help="vLLM generation: colocated (GPU, or vLLM's CPU build) or a `trl vllm-serve` (GPU).",
    )
    vllm_server_url: str | None = setting(None, help="Base URL of `trl vllm-serve`.")
    recipe: str | None = setting(
        None,
        choices=RECIPES,
        help="paper: the paper's training schedule (rollouts of 128 prompts x 4, 4 optimizer steps each, "
        "cosine to 0.1 x lr, k1 KL in the reward for every algorithm; docs/training.md).",
    )
    rollout_prompts: int | None = setting(
        None, help="With --recipe paper: prompts per rollout [default: 128]; fewer keep every ratio."
    )
    report_to: str = setting("none", choices=REPORT_TO, help="Experiment tracking (TRL's report_to).")
    value_tilt_steps: int = setting(
        0,
        help="Every N steps, log the policy-gradient norm each value bucket contributes on a fixed probe batch "
        "(value_tilt/* columns in metrics.parquet; 0 = off; costs a few extra backward passes).",
    )
    max_train_samples: int | None = setting(None, help="Use only the first N train rows.")
    bf16: bool | None = setting(None, help="bf16 training [default: on with CUDA].")
    system_prompt: str | None = setting(
        None,
        help="Policy system prompt for every row [default: the row's system_prompt column, else the paper's "
        "policy prompt].",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.algo = ALGO_ALIASES.get(self.algo, self.algo)
        if self.algo not in ALGOS:
            raise RlevError(f"--algo {self.algo!r}: choose reinforce++, rloo or grpo")
        if self.reward not in REWARD_MODES:
            raise RlevError(f"--reward {self.reward!r}: choose {', '.join(REWARD_MODES)}")
        if self.num_generations < 2:
            raise RlevError(
                f"--num-generations {self.num_generations}: needs at least 2 samples per prompt "
                "(group baselines compare samples)"
            )
        if self.recipe not in (None, *RECIPES):
            raise RlevError(f"--recipe {self.recipe!r}: the one recipe is 'paper'")
        if self.kl_form not in (None, *KL_FORMS):
            raise RlevError(f"--kl-form {self.kl_form!r}: choose trl or openrlhf")
        if self.algo == "reinforce++" and self.kl_form == "trl":
            raise RlevError("--kl-form trl goes with rloo or grpo: REINFORCE++'s KL is OpenRLHF's k1 reward-to-go")
        if self.report_to not in REPORT_TO:
            raise RlevError(f"--report-to {self.report_to!r}: choose {', '.join(REPORT_TO)}")
        steps_per_generation = self.gradient_accumulation_steps
        if self.recipe == "paper":
            from rlev_cli.train.recipe import PAPER_ROLLOUT_PROMPTS, recipe_batch

            if self.rollout_prompts is None:
                self.rollout_prompts = PAPER_ROLLOUT_PROMPTS
            if not self.rollout_prompts > 0:
                raise RlevError(f"--rollout-prompts must be > 0 (got {self.rollout_prompts})")
            if self.trl.get("generation_batch_size") is not None:  # TRL: "can not be both configured", unasked
                raise RlevError(
                    "--trl generation_batch_size does not go with --recipe paper: the recipe sizes the rollout "
                    "(--rollout-prompts x --num-generations completions, as steps_per_generation); "
                    "use --rollout-prompts, or --trl steps_per_generation=N"
                )
            batch = recipe_batch(
                self.rollout_prompts, self.num_generations, self.num_processes, self.gradient_accumulation_steps
            )
            self.batch_size = batch["per_device_train_batch_size"]  # derived: a quarter of the rollout per step
            steps_per_generation = batch["steps_per_generation"]
        elif self.rollout_prompts is not None:
            raise RlevError("--rollout-prompts goes with --recipe paper")
        # the rollout TRL will sample: a --trl generation_batch_size or steps_per_generation is TRL's to count
        made = f"{self.gradient_accumulation_steps} accumulation"
        sizes = {name: _trl_int(self.trl, name) for name in ("steps_per_generation", "generation_batch_size")}
        for name, size in sizes.items():
            if size is not None and size < 1:  # TRL takes 0 or -2 and fails deep in torch
                raise RlevError(f"--trl {name}={size}: must be a positive integer")
        given_spg, given_batch = sizes["steps_per_generation"], sizes["generation_batch_size"]
        if given_spg is not None:
            steps_per_generation, made = given_spg, f"{given_spg} steps per generation (--trl)"
        generation_batch = self.batch_size * self.num_processes * steps_per_generation
        if given_batch is not None:
            generation_batch = given_batch
        if generation_batch % self.num_generations:
            made = f"--batch-size {self.batch_size} x {self.num_processes} process(es) x {made}"
            fix = f"--batch-size {self.num_generations * max(1, self.batch_size // self.num_generations)}"
            if given_batch is not None:
                made = "--trl generation_batch_size"
                step = math.lcm(self.num_generations, self.batch_size * self.num_processes)  # TRL needs both
                fix = f"--trl generation_batch_size={step * max(1, given_batch // step)}"
            raise RlevError(
                f"{made} = {generation_batch} completions per rollout, not a multiple of --num-generations "
                f"{self.num_generations}; use e.g. {fix}"
            )
        if self.scale_rewards not in SCALE_REWARDS:
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
        if self.vllm not in VLLM_MODES:
            raise RlevError(f"--vllm {self.vllm!r}: choose none, colocate or server")
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
        if self.value_tilt_steps < 0:
            raise RlevError(f"--value-tilt-steps must be >= 0 (got {self.value_tilt_steps})")
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
        if self.allow_new_data and not self.resume:
            raise RlevError("--allow-new-data goes with --resume (a new run records the table it reads)")
        if self.lora_r < 0:
            raise RlevError(f"--lora-r must be > 0 (a LoRA rank), or 0 for full fine-tuning (got {self.lora_r})")
        if not self.lora_r and (
            self.lora_alpha is not None or self.lora_dropout or self.lora_target_modules != ["all-linear"]
        ):
            raise RlevError("--lora-alpha, --lora-dropout and --lora-target-module go with --lora-r R (LoRA)")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise RlevError(f"--lora-dropout {self.lora_dropout}: must be in [0, 1)")
        if not self.lora_target_modules:
            raise RlevError("--lora-target-module: give at least one module name")
        if not 0.0 < self.top_p <= 1.0:
            raise RlevError(f"--top-p {self.top_p}: must be in (0, 1]")
        if self.top_k < 0:
            raise RlevError(f"--top-k {self.top_k}: must be >= 0 (0 = no top-k)")
        if not self.epsilon > 0 or (self.epsilon_high is not None and not self.epsilon_high > 0):
            raise RlevError(f"--epsilon {self.epsilon} and --epsilon-high {self.epsilon_high}: must be > 0")
        if self.loss_type not in LOSS_TYPES:
            raise RlevError(f"--loss-type {self.loss_type!r}: choose {', '.join(LOSS_TYPES)}")
        if self.algo == "rloo" and self.loss_type != "dapo":
            raise RlevError(
                f"--loss-type {self.loss_type} is for --algo grpo or reinforce++: RLOO's loss is one clipped "
                "ratio per sequence, with no token aggregation to choose"
            )
        if self.eval_steps < 0:
            raise RlevError(f"--eval-steps must be >= 0 (got {self.eval_steps})")


def _trl_int(trl: dict[str, Any], name: str) -> int | None:
    """An integer `--trl` field (a string from the command line, an int from YAML); None when absent or not
    an integer (then the TRL config's own typing refuses it, naming the field)."""
    value = trl.get(name)
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def kl_form_in_use(kl_form: str | None, algo: str, recipe: str | None) -> str:
    """Where a run puts its KL when --kl-form is unset: openrlhf (k1 reward-to-go) for REINFORCE++ and for grpo
    under --recipe paper, else trl (rloo keeps TRL's RLOO under the recipe too). The trainer is built from it and
    a resumed run's setting is compared by it."""
    return kl_form or ("openrlhf" if algo == "reinforce++" or (algo == "grpo" and recipe == "paper") else "trl")
