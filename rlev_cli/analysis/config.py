"""Settings of `rlev analyze termination`: one declaration each (field = Python argument = YAML key = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting
from rlev_cli.threads import ThreadSettings


@dataclass
class TerminationConfig(ThreadSettings):
    """Figure 2 of the paper: teacher-forced P(EOS) per position on the highest- and lowest-valued prompts."""

    runs: list[Path] = setting(
        factory=list, cli=False, help="Run folders, e.g. a correctness baseline and an RLEV run."
    )
    n: int = setting(200, help="Highest- and lowest-valued prompts per group (paper: 200).")
    predictions: Path | None = setting(None, help="predictions.parquet to use [default: RUN/eval/predictions.parquet].")
    out: Path | None = setting(None, flags=("--out", "-o"), help="Output folder [default: the first run's analysis/].")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.runs:
            raise RlevError("give at least one run folder")
        if self.n < 1:
            raise RlevError(f"--n {self.n}: must be >= 1")
        if self.out is None:
            self.out = Path(self.runs[0]) / "analysis"
