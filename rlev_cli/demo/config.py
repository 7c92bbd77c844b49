"""Settings of `rlev demo`: one declaration each (field = Python argument = YAML key = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.rewards import REWARD_MODES
from rlev_cli.settings import setting
from rlev_cli.threads import ThreadSettings

DEMO_MODES = ("correctness", "rlev", "uniform", "shuffled")  # the order of the ablation table's rows
assert set(DEMO_MODES) == set(REWARD_MODES)


@dataclass
class DemoConfig(ThreadSettings):
    """Settings of `rlev demo`. The defaults were fixed before comparing modes and are not tuned to make
    any mode win (docs/paper-effect.md)."""

    out: Path = setting(Path("rlev-demo"), flags=("--out", "-o"), help="Folder for papers, workspace, runs and tables.")
    seeds: list[int] = setting(factory=lambda: [0, 1, 2], flags=("--seed",), help="Training seeds (repeatable).")
    quick: bool = setting(False, help="One seed (the first of --seed), for a look in minutes.")
    modes: list[str] = setting(
        factory=lambda: list(DEMO_MODES),
        flags=("--mode",),
        choices=DEMO_MODES,
        help="Reward modes to train (repeatable).",
    )
    steps: int = setting(60, help="RL steps per run (16 prompts x 4 samples each).")
    papers: int = setting(60, help="Synthetic papers (20 questions each).")
    test_fraction: float = setting(0.25, help="Share of questions in held-out papers.")
    sft_steps: int = setting(150, help="Supervised warm-start steps (TRL SFTTrainer).")
    learning_rate: float = setting(3e-4, help="RL learning rate.")
    kl_coef: float = setting(
        0.01, help="KL coefficient β (with β = 0, Adam makes 'uniform' the same run as 'correctness')."
    )
    data_seed: int = setting(0, help="Seed of the papers, the split and the warm start.")
    measure_gradients: bool = setting(True, help="Measure the gradient per value bucket on a fixed batch (about 20 s).")

    def __post_init__(self) -> None:
        super().__post_init__()
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
        if not 0.0 < self.test_fraction < 1.0:
            raise RlevError(f"--test-fraction {self.test_fraction}: must be in (0, 1)")
