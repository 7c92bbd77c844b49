"""The grading settings `train` and `evaluate` share, declared once: both configs inherit them."""

from __future__ import annotations

from dataclasses import dataclass

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting
from rlev_cli.verify.grade import VERIFIERS


@dataclass
class GradingSettings:
    """How answers are graded: the rules, the LLM judge, or the rules first and the judge for the rest."""

    verifier: str = setting(
        "rule",
        choices=VERIFIERS,
        help="rule | judge (every answer, the paper's setting) | rule+judge (the judge grades only what the "
        "rules cannot); --judge-url alone means rule+judge.",
    )
    verify_timeout: float = setting(1.0, help="Seconds per answer for the rule check (then it is ungraded).")
    verify_workers: int = setting(
        0, help="Math-check worker processes (one per core; 0 = the cores free: all this process may use but one)."
    )
    judge_url: str | None = setting(
        None, help="OpenAI-compatible URL of the LLM judge (checked before any generation)."
    )
    judge_model: str | None = setting(None, help="Model name at --judge-url.")
    judge_concurrency: int = setting(32, help="Judge requests in flight at most.")

    def __post_init__(self) -> None:
        after = getattr(super(), "__post_init__", None)  # the other settings mixed in (threads)
        if after is not None:
            after()
        if self.verifier not in VERIFIERS:
            raise RlevError(f"--verifier {self.verifier!r}: choose {', '.join(VERIFIERS)}")
        if (self.judge_url is None) != (self.judge_model is None):
            raise RlevError("--judge-url and --judge-model go together")
        if self.verifier != "rule" and not (self.judge_url and self.judge_model):
            raise RlevError(f"--verifier {self.verifier} needs --judge-url URL and --judge-model NAME")
        if self.verify_workers < 0:
            raise RlevError(f"--verify-workers {self.verify_workers}: must be >= 0 (0 = the cores free)")
        if not self.verify_timeout > 0:
            raise RlevError(f"--verify-timeout {self.verify_timeout}: must be > 0 seconds")
        if self.judge_concurrency < 1:
            raise RlevError(f"--judge-concurrency {self.judge_concurrency}: must be >= 1")
