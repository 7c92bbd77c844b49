"""Settings of `rlev train`: one declaration each (field = Python argument = YAML key = flag).

Paper defaults (arXiv 2510.20187 §3.2 + its recipe paper): lr 5e-7, one epoch, 4 samples per prompt,
KL 0.01, 1024-token prompts and responses, temperature 1.0, α = 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.prompts import SYSTEM_PROMPT
from rlev_cli.rewards import REWARD_MODES
from rlev_cli.settings import setting

ALGOS = ("reinforce++", "rloo", "grpo")
ALGO_ALIASES = {"reinforce_pp": "reinforce++", "rpp": "reinforce++", "reinforce": "reinforce++"}
SCALE_REWARDS = ("batch", "none", "group")
VLLM_MODES = ("none", "colocate", "server")


@dataclass
class TrainConfig:
    """Settings of `rlev train`."""

    data: Path | None = setting(None, help="Questions table [default: the workspace's].")
    model: str = setting("tiny", metavar="ID|PATH|tiny", help="Hugging Face id, local path, or 'tiny' (offline).")
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
    lora_r: int = setting(0, help="LoRA rank (PEFT); 0 = full fine-tuning.")
    save_steps: int = setting(100, help="Checkpoint every N steps.")
    logging_steps: int = setting(1, help="Log metrics every N steps.")
    resume: bool = setting(False, help="Resume the run in --output (or the latest run) from its last checkpoint.")
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
    num_processes: int = setting(1, help="Data-parallel processes (torchrun).")
    accelerate_config: str | None = setting(
        None, help="Launch with accelerate: a shipped config (multi_gpu, zero2, zero3, multi_node) or a YAML path."
    )
    vllm: str = setting("none", choices=VLLM_MODES, help="vLLM generation (GPU): colocated or a `trl vllm-serve`.")
    vllm_server_url: str | None = setting(None, help="Base URL of `trl vllm-serve`.")
    judge_url: str | None = setting(None, help="OpenAI-compatible URL of an LLM judge for free-form answers.")
    judge_model: str | None = setting(None, help="Model name at --judge-url.")
    max_train_samples: int | None = setting(None, help="Use only the first N train rows.")
    bf16: bool | None = setting(None, help="bf16 training [default: on with CUDA].")
    system_prompt: str = setting(SYSTEM_PROMPT, help="Policy system prompt.")
    workspace: Path = setting(
        Path("rlev-workspace"),
        flags=("--workspace", "-w"),
        envvar="RLEV_WORKSPACE",
        help="Folder shared by all stages [default: ./rlev-workspace].",
    )

    def __post_init__(self) -> None:
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
        generation_batch = self.batch_size * self.num_processes * self.gradient_accumulation_steps
        if generation_batch % self.num_generations:
            raise RlevError(
                f"--batch-size {self.batch_size} x {self.num_processes} process(es) x "
                f"{self.gradient_accumulation_steps} accumulation = {generation_batch} completions, "
                f"not a multiple of --num-generations {self.num_generations}; use e.g. "
                f"--batch-size {self.num_generations * max(1, self.batch_size // self.num_generations)}"
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
        if self.kl_coef < 0 or self.temperature <= 0:
            raise RlevError("--kl-coef must be >= 0 and --temperature > 0")
