"""One grading path for `train` and `evaluate`: the rules first, the LLM judge as `--verifier` says.

`rule` grades by the rules alone (an answer they cannot grade is ungraded); `judge` sends every answer to
the judge (the paper's setting); `rule+judge` sends only what the rules cannot grade. An ungraded answer
is `correct=None`: advantage 0 in training, uncovered in evaluation, never a silent 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rlev_cli.errors import RlevError

VERIFIERS = ("rule", "judge", "rule+judge")


@dataclass(frozen=True)
class Verdict:
    """The grade of one answer. `source` is 'rule' or 'judge' (who decided), or 'none' when ungraded."""

    correct: bool | None
    source: str
    reason: str = ""  # why it is ungraded ("" when graded)
    judge_score: float | None = None  # P(YES) / (P(YES) + P(NO)) when the judge returned logprobs


class Grader:
    """Grades a batch of answers; the one object `train`'s reward and `evaluate`'s scorer both call."""

    def __init__(self, verifier: str = "rule", judge: Any = None, timeout_s: float = 1.0) -> None:
        if verifier not in VERIFIERS:
            raise RlevError(f"--verifier {verifier!r}: choose {', '.join(VERIFIERS)}")
        if verifier != "rule" and judge is None:
            raise RlevError(f"--verifier {verifier} needs a judge: --judge-url and --judge-model")
        self.verifier = verifier
        self.judge = judge
        self.timeout_s = timeout_s

    def grade(
        self,
        questions: Sequence[str],
        responses: Sequence[str],
        references: Sequence[str],
        qtypes: Sequence[str],
    ) -> list[Verdict]:
        from rlev_cli.verify.check import check

        verdicts: list[Verdict] = []
        for question, response, reference, qtype in zip(questions, responses, references, qtypes, strict=True):
            if self.verifier != "judge":
                ok = check(response, reference, qtype)
                if ok is not None:
                    verdicts.append(Verdict(bool(ok), "rule"))
                    continue
                if self.judge is None:
                    verdicts.append(Verdict(None, "none", "the rules cannot grade this answer"))
                    continue
            verdicts.append(Verdict(bool(self.judge(question, response, reference)), "judge"))
        return verdicts


def make_grader(
    verifier: str = "rule", judge_url: str | None = None, judge_model: str | None = None, timeout_s: float = 1.0
) -> Grader:
    """The one judge factory: a Grader with an LLM judge when a URL is given."""
    judge = None
    if judge_url:
        from rlev_cli.verify.judge import LLMJudge

        judge = LLMJudge(judge_url, judge_model or "")
    if judge is not None and verifier == "rule":
        verifier = "rule+judge"  # --judge-url alone keeps today's meaning: the judge grades what rules cannot
    return Grader(verifier, judge, timeout_s)
