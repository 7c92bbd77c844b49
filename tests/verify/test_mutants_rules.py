"""The dispatch and the batch of the rule verifier (`_rule_or_job`, `rule_verdicts`, `refusal`,
`response_refusal`), pinned to exact verdicts and reasons where the check.py mutation run found them loose
(issue 17 item 4; docs/testing.md). References are JEEBench's and GAOKAO's, as in the fixtures."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from rlev_cli.verify import rule_verdicts, worker
from rlev_cli.verify.check import refusal, response_refusal

Verdict = tuple[bool | None, str]
checker = importlib.import_module("rlev_cli.verify.check")  # the package exports check(), the function
LINE = "$5 x-y+2=0$"  # GAOKAO fill-in: the line's equation, math-verify's to compare


class Workers:
    """The math workers as `rule_verdicts` sees them, keeping every batch it sends; `answers` (one verdict
    per job, in order) stand in for the real workers where a test needs a time-out."""

    def __init__(self, answers: list[Verdict] | None = None) -> None:
        self.batches: list[tuple[list[list[Any]], float]] = []
        self.answers = answers
        self.real = worker.math_pool

    def run(self, jobs: list[list[Any]], timeout_s: float) -> list[Verdict]:
        self.batches.append((jobs, timeout_s))
        if self.answers is None:
            return self.real().run(jobs, timeout_s)
        return [self.answers.pop(0) for _ in jobs]


def _use(monkeypatch, workers: Workers) -> Workers:
    monkeypatch.setattr(worker, "math_pool", lambda size=None: workers)
    return workers


@pytest.fixture
def workers(monkeypatch) -> Workers:
    return _use(monkeypatch, Workers())


# ---- numeric: JEEBench's rule, decided in-process where the value needs no parser --------------------


@pytest.mark.parametrize(
    "response,gold,verdict",
    [
        ("Therefore, the answer is $\\frac{305}{4}$", "76.25", (True, "")),
        ("Therefore, the answer is $\\sqrt{16}$", "4", (True, "")),
        ("Therefore, the answer is $-\\sqrt{16}$", "4", (False, "")),
        # a root within 0.01 counts as a plain number does: 76.26 is in, 76.27 out
        ("Therefore, the answer is $\\sqrt{5815.5876}$", "76.25", (True, "")),
        ("Therefore, the answer is $\\sqrt{5817.1129}$", "76.25", (False, "")),
        ("Therefore, the answer is 99 + 79", "178", (False, "")),  # the question restated, not answered
        ("", "76.25", (False, "")),  # a completion that stopped at once
        ("\n\n", "13", (False, "")),
    ],
)
def test_numeric_verdicts_decided_in_process(response, gold, verdict, workers):
    assert rule_verdicts([response], [gold], ["numeric"], timeout_s=5.0) == [verdict]
    assert workers.batches == []


def test_numeric_answers_that_need_the_parser_are_compared_within_the_tolerance(workers):
    responses = ["Therefore, the answer is $2\\sqrt{2}$", "Therefore, the answer is $2\\sqrt{2}$"]
    # 2√2 = 2.8284...: within 0.01 of 2.83, not of 2.84
    assert rule_verdicts(responses, ["2.83", "2.84"], ["numeric"] * 2, timeout_s=5.0) == [(True, ""), (False, "")]
    assert len(workers.batches) == 1 and len(workers.batches[0][0]) == 2


def test_a_numeric_key_that_is_no_plain_number_is_compared_as_math_unordered():
    # an exam file's own "numeric" label on a fraction or a list: not JEEBench's tolerance, and a list is a
    # set (only a fill-in's bare list is its blanks in order)
    answers = ["Therefore, the answer is $0.3$", "Therefore, the answer is $3, 2$", "Therefore, the answer is $3, 2$"]
    got = rule_verdicts(
        answers, ["$\\frac{3}{10}$", "$2, 3$", "$2, 3$"], ["numeric", "numeric", "fill_blank"], timeout_s=5.0
    )
    assert got == [(True, ""), (True, ""), (False, "")]


def test_a_free_form_list_of_boxed_solutions_is_a_set():
    reference = "The solutions are $x=\\boxed{2}$ and $x=\\boxed{3}$."
    got = rule_verdicts(
        ["Therefore, the answer is $\\boxed{3, 2}$", "Therefore, the answer is $\\boxed{2, 4}$"],
        [reference] * 2,
        ["free_form"] * 2,
        timeout_s=5.0,
    )
    assert got == [(True, ""), (False, "")]


def test_an_unknown_qtype_names_the_known_ones():
    assert rule_verdicts(["Therefore, the answer is 4"], ["4"], ["essay"]) == [
        (None, "unknown qtype 'essay' (known: single_choice, multi_choice, numeric, fill_blank, free_form)")
    ]


# ---- the batch ---------------------------------------------------------------------------------------


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="shorter"):
        rule_verdicts(["Therefore, the answer is D", "Therefore, the answer is (C)."], ["D"], ["single_choice"] * 2)


def test_a_null_response_or_reference_is_an_empty_one(workers):
    # a null in a predictions or questions table: a missing response is wrong at once (no math job), a
    # missing reference is the reference's fault
    got = rule_verdicts([None, "Therefore, the answer is 76.25"], ["76.25", None], ["numeric", "fill_blank"])
    assert got == [(False, ""), (None, "unparsable reference: empty")]
    assert workers.batches == []


def test_a_group_that_agrees_is_one_math_job_and_a_settled_one_is_not_asked_again(workers):
    said = ["Therefore, the answer is $y=5x+2$", "所以答案是 $y=5x+2$", "Therefore, the answer is $y=5x+3$"]
    unparsable = ["Therefore, the answer is 4", "所以答案是 4"]
    got = rule_verdicts(said + unparsable, [LINE] * 3 + ["\\text{}"] * 2, ["fill_blank"] * 5, timeout_s=5.0)
    no_key = (None, "unparsable reference: '\\\\text{}'")
    assert got == [(True, ""), (True, ""), (False, ""), no_key, no_key]
    assert [len(jobs) for jobs, _ in workers.batches] == [3]  # y=5x+2, y=5x+3, and 4 against '\text{}'
    # new wording, the same final answers: graded from the settled jobs, nothing sent to the workers
    again = rule_verdicts(["The answer is $y=5x+2$.", "The answer is 4."], [LINE, "\\text{}"], ["fill_blank"] * 2)
    assert again == [(True, ""), no_key]
    assert len(workers.batches) == 1


def test_a_graded_response_is_remembered_whole(workers, monkeypatch):
    responses = ["Therefore, the answer is (C).", "Therefore, the answer is $y=5x+2$", "Therefore, the answer is 4"]
    references, qtypes = ["D", LINE, "\\text{}"], ["single_choice", "fill_blank", "fill_blank"]
    first = rule_verdicts(responses, references, qtypes, timeout_s=5.0)
    assert first == [(False, ""), (True, ""), (None, "unparsable reference: '\\\\text{}'")]

    def extract_again(*args: Any) -> None:
        raise AssertionError(f"graded again: {args}")

    monkeypatch.setattr(checker, "_rule_or_job", extract_again)
    assert rule_verdicts(responses, references, qtypes, timeout_s=5.0) == first
    assert len(workers.batches) == 1


def test_a_timed_out_check_is_tried_again_within_the_default_second(monkeypatch):
    # the worker's answers are scripted: a time-out (a loaded machine), then the verdict on the retry
    scripted = _use(monkeypatch, Workers([(None, "timeout after 1 s"), (True, "")]))
    response = "Therefore, the answer is $y=5x+2$"
    assert rule_verdicts([response], [LINE], ["fill_blank"]) == [(None, "timeout after 1 s")]
    assert rule_verdicts([response], [LINE], ["fill_blank"]) == [(True, "")]
    assert [timeout_s for _, timeout_s in scripted.batches] == [1.0, 1.0]  # the default budget, each time
    assert rule_verdicts([response], [LINE], ["fill_blank"]) == [(True, "")]  # settled: not sent again
    assert len(scripted.batches) == 2


def test_the_job_cache_is_bounded(monkeypatch):
    _use(monkeypatch, Workers([(True, ""), (False, ""), (False, "")]))
    monkeypatch.setattr(checker, "_CACHE_SIZE", 2)
    said = ["Therefore, the answer is $y=5x+2$", "Therefore, the answer is $y=5x+3$", "Therefore, the answer is $y=x$"]
    assert rule_verdicts(said, [LINE] * 3, ["fill_blank"] * 3) == [(True, ""), (False, ""), (False, "")]
    assert len(checker._JOB_CACHE) <= 2  # full at the third: emptied, then the third kept


# ---- refused before any parser -----------------------------------------------------------------------


def test_refusal_limits_are_inclusive():
    assert refusal("1" * 1000) is None  # a 1,000-digit number is still checked
    assert refusal("1" * 1001) == "refused: a final answer of 1001 characters"
    assert refusal("10^{10000}") is None
    assert refusal("10^{10001}") == "refused: an exponent above 10000"
    assert refusal("999!") is None
    assert refusal("1000!") == "refused: a factorial of a number above 999"


def test_response_refusal_limits_are_inclusive_and_count_fbox():
    loop = "Let me check again. " * 10_000  # 200,000 characters
    assert response_refusal(loop) is None
    assert response_refusal(loop + "7") == "refused: a response of 200,001 characters (at most 200,000)"
    assert response_refusal("\\boxed{7} " * 50 + "\\fbox{7} " * 50) is None
    assert (
        response_refusal("\\boxed{7} " * 50 + "\\fbox{7} " * 51)
        == "refused: 101 \\boxed{} in the response (at most 100)"
    )
