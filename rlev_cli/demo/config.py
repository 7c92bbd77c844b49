"""Settings of `rlev demo` (stdlib only: the CLI reads the help texts at import time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rlev_cli.errors import RlevError

DEMO_MODES = ("correctness", "rlev", "uniform", "shuffled")


@dataclass
class DemoConfig:
    """Settings of `rlev demo`. The defaults were fixed before comparing modes and are not tuned to make
    any mode win (docs/paper-effect.md)."""

    out: Path = field(default=Path("rlev-demo"), metadata={"help": "Folder for papers, workspace, runs and tables."})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds (repeatable)."})
    quick: bool = field(default=False, metadata={"help": "One seed (the first of --seed), for a look in minutes."})
    modes: list[str] = field(
        default_factory=lambda: list(DEMO_MODES), metadata={"help": "Reward modes to train (repeatable)."}
    )
    steps: int = field(default=60, metadata={"help": "RL steps per run (16 prompts x 4 samples each)."})
    papers: int = field(default=60, metadata={"help": "Synthetic papers (20 questions each)."})
    test_fraction: float = field(default=0.25, metadata={"help": "Share of questions in held-out papers."})
    sft_steps: int = field(default=150, metadata={"help": "Supervised warm-start steps (TRL SFTTrainer)."})
    learning_rate: float = field(default=3e-4, metadata={"help": "RL learning rate."})
    kl_coef: float = field(
        default=0.01,
        metadata={"help": "KL coefficient β (with β = 0, Adam makes 'uniform' the same run as 'correctness')."},
    )
    data_seed: int = field(default=0, metadata={"help": "Seed of the papers, the split and the warm start."})
    measure_gradients: bool = field(
        default=True, metadata={"help": "Measure the gradient per value bucket on a fixed batch (about 20 s)."}
    )
    threads: int = field(
        default=1,
        metadata={
            "help": "torch CPU threads (1: for a 0.3M-parameter model, thread hand-offs cost more than they "
            "save, and a busy machine makes 2 threads 15x slower; measured in docs/paper-effect.md)."
        },
    )

    def __post_init__(self) -> None:
        if self.quick:
            self.seeds = self.seeds[:1]
        unknown = [m for m in self.modes if m not in DEMO_MODES]
        if unknown or not self.modes:
            raise RlevError(f"--mode {', '.join(unknown) or '(none)'}: choose from {', '.join(DEMO_MODES)}")
        if not self.seeds:
            raise RlevError("--seed: give at least one seed")
        for name in ("steps", "papers", "sft_steps"):
            if getattr(self, name) < 1:
                raise RlevError(f"--{name.replace('_', '-')} must be >= 1")
        if self.papers < 4:
            raise RlevError("--papers must be >= 4 (some papers are held out)")
