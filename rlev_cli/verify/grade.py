"""One grading path for `train` and `evaluate`: the rules first, the LLM judge as `--verifier` says.

`rule` grades by the rules alone (an answer they cannot grade is ungraded); `judge` sends every answer to
the judge (the paper's setting); `rule+judge` sends only what the rules cannot grade. The judge's share
of a batch goes out in one concurrent, cached call (`LLMJudge.judge_many`).

Ungraded is not an escape (docs/verifier.md): an answer ungraded because of its RESPONSE (too long, a
refused form such as a power tower, a time-out on the response) is WRONG: `correct=False` with
`cause="response"` and the reason, so it earns reward 0, takes part in baselines and counts in Acc/H-Acc.
Only an answer ungraded because of the REFERENCE (unparsable, free-form without a judge) or of the grader
(the judge gave no verdict) is `correct=None`: advantage 0 in training, uncovered in evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError

VERIFIERS = ("rule", "judge", "rule+judge")


@dataclass(frozen=True)
class Verdict:
    """The grade of one answer. `source` is 'rule' or 'judge' (who decided), or 'none' when ungraded.

    `cause` is "" for a graded answer, else why the rules could not grade it: 'response' (counted as wrong:
    `correct` is False), 'reference' or 'grader' (left out: `correct` is None); `reason` says more."""

    correct: bool | None
    source: str
    reason: str = ""  # why it is ungraded ("" when graded)
    judge_score: float | None = None  # P(YES) / (P(YES) + P(NO)) when the judge returned logprobs
    cause: str = ""  # "" | "reference" | "response" | "grader"


def rule_verdict(ok: bool | None, reason: str) -> Verdict:
    """A rule check's (ok, reason) as a Verdict: a response-caused ungraded answer is wrong (see above).

    >>> rule_verdict(None, "refused: a power tower")
    Verdict(correct=False, source='rule', reason='refused: a power tower', judge_score=None, cause='response')
    """
    if ok is not None:
        return Verdict(bool(ok), "rule")
    from rlev_cli.verify.check import ungraded_cause

    reason = reason or "the rules cannot grade this answer"
    cause = ungraded_cause(reason)
    if cause == "response":
        return Verdict(False, "rule", reason, cause=cause)
    return Verdict(None, "none", reason, cause=cause)


def rule_grades(
    responses: Sequence[str], references: Sequence[str], qtypes: Sequence[str], timeout_s: float = 1.0
) -> list[tuple[bool | None, str]]:
    """(correct or None, reason when ungraded) per answer, by the rules of `rlev_cli.verify.check`."""
    from rlev_cli.verify.check import rule_verdicts

    return rule_verdicts(responses, references, qtypes, timeout_s=timeout_s)


class Grader:
    """Grades a batch of answers; the one object `train`'s reward and `evaluate`'s scorer both call."""

    def __init__(self, verifier: str = "rule", judge: Any = None, timeout_s: float = 1.0, workers: int = 0) -> None:
        if verifier not in VERIFIERS:
            raise RlevError(f"--verifier {verifier!r}: choose {', '.join(VERIFIERS)}")
        if verifier != "rule" and judge is None:
            raise RlevError(f"--verifier {verifier} needs a judge: --judge-url and --judge-model")
        self.verifier = verifier
        self.judge = judge
        self.timeout_s = timeout_s
        self.workers = workers  # math-check worker processes (0: the cores free)

    def grade(
        self,
        questions: Sequence[str],
        responses: Sequence[str],
        references: Sequence[str],
        qtypes: Sequence[str],
    ) -> list[Verdict]:
        """One verdict per answer, in order. The judge's share is sent at once (concurrently, cached).

        Raises:
            RlevError: when the judge still fails after its retries (never a silent 0).
        """
        n = len(responses)
        if not len(questions) == len(references) == len(qtypes) == n:
            raise ValueError(
                f"grade: {len(questions)} questions, {n} responses, {len(references)} references, {len(qtypes)} qtypes"
            )
        verdicts: list[Verdict | None] = [None] * n
        to_judge: list[int] = list(range(n)) if self.verifier == "judge" else []
        if self.verifier != "judge":
            from rlev_cli.verify.worker import math_pool

            math_pool(self.workers)  # sized, not started: a worker starts when a batch needs it
            for i, (ok, reason) in enumerate(rule_grades(responses, references, qtypes, self.timeout_s)):
                if ok is None and self.judge is not None:  # the judge grades what the rules cannot
                    to_judge.append(i)
                else:
                    verdicts[i] = rule_verdict(ok, reason)
        if to_judge:
            triples = [(questions[i], responses[i], references[i]) for i in to_judge]
            for i, result in zip(to_judge, self._judge(triples), strict=True):
                verdicts[i] = result
        return [v for v in verdicts if v is not None]

    def _judge(self, triples: list[tuple[str, str, str]]) -> list[Verdict]:
        if hasattr(self.judge, "judge_many"):
            return [
                Verdict(r.correct, "judge", r.reason, r.score)
                if r.correct is not None
                else Verdict(None, "none", r.reason, r.score, cause="grader")
                for r in self.judge.judge_many(triples)
            ]
        out = []  # a plain callable judge (question, response, reference) -> 1.0 / 0.0 / None
        for question, response, reference in triples:
            ok = self.judge(question, response, reference)
            out.append(
                Verdict(None, "none", "the judge gave no verdict", cause="grader")
                if ok is None
                else Verdict(bool(ok), "judge")
            )
        return out


def make_grader(
    verifier: str = "rule",
    judge_url: str | None = None,
    judge_model: str | None = None,
    timeout_s: float = 1.0,
    *,
    concurrency: int | None = None,
    cache_path: Path | None = None,
    check_alive: bool = True,
    workers: int = 0,
) -> Grader:
    """The one judge factory: a Grader with an LLM judge when a URL is given.

    A judge URL that does not answer fails here, in one line, before any generation starts. The judge's
    cache is `cache_path` (default: `judge_cache.sqlite` in the workspace).

    Raises:
        RlevError: an unknown verifier, a judge verifier without --judge-url/--judge-model, a dead URL.
    """
    if verifier not in VERIFIERS:
        raise RlevError(f"--verifier {verifier!r}: choose {', '.join(VERIFIERS)}")
    if verifier != "rule" and not (judge_url and judge_model):
        raise RlevError(f"--verifier {verifier} needs a judge: pass --judge-url URL and --judge-model NAME")
    judge = None
    if judge_url:
        from rlev_cli.verify.judge import CACHE_FILE, DEFAULT_CONCURRENCY, JudgeCache, LLMJudge
        from rlev_cli.workspace import resolve_workspace

        judge = LLMJudge(
            judge_url,
            judge_model or "",
            concurrency=concurrency or DEFAULT_CONCURRENCY,
            cache=JudgeCache(cache_path or resolve_workspace(None) / CACHE_FILE),
        )
        if check_alive:
            judge.check_alive()
    if judge is not None and verifier == "rule":
        verifier = "rule+judge"  # --judge-url alone keeps its old meaning: the judge grades what rules cannot
    return Grader(verifier, judge, timeout_s, workers)
