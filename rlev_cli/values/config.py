"""Settings of `rlev predict-values`: one declaration each (field = Python argument = YAML key = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting
from rlev_cli.workspace import QUESTIONS_FILE, WorkspaceSettings

TARGETS = ("auto", "value", "score")
DIFFICULTY_LEVELS = {  # WebInstruct-verified levels -> points out of 100 (arXiv 2510.20187 §3.2)
    "primary school": 1.0,
    "junior high school": 2.0,
    "senior high school": 4.0,
    "university": 6.0,
    "phd": 8.0,
}


@dataclass
class ValuesConfig(WorkspaceSettings):
    """Settings of `rlev predict-values`."""

    data: Path | None = setting(None, help="Questions table [default: the workspace's].")
    out: Path | None = setting(None, flags=("--out", "-o"), help="Output table [default: overwrite --data].")
    target: str = setting(
        "auto",
        choices=TARGETS,
        help="Predict v directly (value), or points then divide by the exam total (score); auto: whichever "
        "cross-validates better.",
    )
    replace_all: bool = setting(
        False,
        flags=("--all",),
        help="Also replace ground-truth values (the paper's noisy-value ablation); the originals stay in "
        "value_original.",
    )
    from_difficulty: str | None = setting(
        None,
        help="Column of difficulty levels instead of a regressor: primary school, junior high school, "
        "senior high school, university, phd (or 1-5 in that order) -> values 0.01, 0.02, 0.04, 0.06, 0.08.",
    )
    model_out: Path | None = setting(None, help="Where to save the fitted model (.skops) [default: beside --out].")
    model_in: Path | None = setting(None, help="Apply a saved model; no refitting.")
    default_total: float = setting(
        100.0, help="Exam total assumed for rows without one (the paper's predictor uses 100)."
    )
    folds: int = setting(5, help="Cross-validation folds (grouped by exam).")
    seed: int = setting(0, help="Seed.")

    def __post_init__(self) -> None:
        if self.data is None:
            self.data = self.workspace / QUESTIONS_FILE
        if self.target not in TARGETS:
            raise RlevError(f"--target {self.target!r}: choose value, score or auto")
        if self.folds < 2:
            raise RlevError("--folds must be at least 2")
        if not self.default_total > 0:
            raise RlevError("--default-total must be > 0")
        if self.model_in and self.model_out:
            raise RlevError("--model-in applies a saved model; --model-out saves a fitted one: choose one")
