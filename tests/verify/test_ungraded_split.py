"""#15 item 6: ungraded is not an escape. An answer ungraded because of its RESPONSE (too long, a refused
form, a time-out) is wrong in training and in Acc/H-Acc and is counted apart; one ungraded because of its
REFERENCE stays out (advantage 0, uncovered). Bad input (a megabyte, thousands of boxes, a reference that
parses as nothing) is ungraded with its reason, within the time bound, never correct."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.rewards import RlevReward
from rlev_cli.verify import rule_verdicts
from rlev_cli.verify.check import ungraded_cause
from rlev_cli.verify.grade import Grader, Verdict, rule_verdict

runner = CliRunner()
MEGABYTE = "I repeat myself. " * 61_681 + "Therefore, the answer is 7."  # 1,048,604 characters
BOXES = "\\boxed{7} " * 3000
TOWER = "Therefore, the answer is $9^{9^{9}}$"
WORKED = "解: 由题意 (1) 得 x = 7. 证毕"  # a worked solution: needs the judge


def test_bad_input_is_ungraded_with_its_reason_fast_and_never_correct():
    rule_verdicts(["Therefore, the answer is $\\frac{1}{2}$"], ["$0.5$"], ["fill_blank"])  # the worker is warm
    start = time.monotonic()
    got = rule_verdicts([MEGABYTE, BOXES, TOWER], ["7", "7", "4"], ["numeric", "numeric", "numeric"], timeout_s=1.0)
    assert time.monotonic() - start < 1.0  # refused before extraction or sympy: never sent to the worker
    assert got == [
        (None, "refused: a response of 1,048,604 characters (at most 200,000)"),
        (None, "refused: 3,000 \\boxed{} in the response (at most 100)"),
        (None, "refused: a power tower"),
    ]
    start = time.monotonic()
    nothing = rule_verdicts(["Therefore, the answer is 7"] * 2, ["$\\frac{$", "\\text{}"], ["fill_blank"] * 2)
    assert time.monotonic() - start < 2 * 1.0 + 0.25 + 0.5  # math-verify spends ~2 s in C on '$\\frac{$'
    assert nothing == [(None, "unparsable reference: '$\\\\frac{$'"), (None, "unparsable reference: '\\\\text{}'")]
    assert [ungraded_cause(reason) for _, reason in got + nothing] == ["response"] * 3 + ["reference"] * 2


@pytest.mark.parametrize(
    "reason,cause",
    [
        ("refused: a power tower", "response"),
        ("refused: a final answer of 700000 characters", "response"),
        ("timeout after 1 s", "response"),
        ("timeout after 1 s (math worker restarted)", "response"),
        ("ambiguous: a negation in the final answer", "response"),
        ("math check failed: TypeError", "response"),
        ("unparsable reference: '$\\\\frac{$'", "reference"),
        ("free-form reference: needs the judge", "reference"),
        ("timeout parsing the reference (after 1 s)", "reference"),
        ("unknown qtype 'essay' (known: ...)", "reference"),
        ("math check unavailable: the math worker did not start", "grader"),
        ("the judge gave no verdict", "grader"),
    ],
)
def test_every_reason_has_its_cause(reason, cause):
    assert ungraded_cause(reason) == cause
    verdict = rule_verdict(None, reason)
    assert verdict.cause == cause and verdict.reason == reason
    assert verdict.correct is (False if cause == "response" else None)


def test_a_reference_no_comparison_can_finish_is_the_reference_s_fault():
    """A power tower or a huge exponent in the REFERENCE timed out in math-verify's comparison for every answer,
    and a time-out there was classed as the response's: every answer to the item counted wrong. It is refused
    before the worker, as the same form in a response is, and the item stays out; another accepted form of the
    reference is still compared."""
    start = time.monotonic()
    got = rule_verdicts(
        ["The answer is $\\boxed{5}$"] * 4,
        ["$9^{9^{9}}$", "$123456789^{987654321}$", "So $\\boxed{(10^{100000})!}$.", "$5 \\# \\# 9^{9^{9}}$"],
        ["fill_blank", "numeric", "free_form", "fill_blank"],
    )
    assert time.monotonic() - start < 1.0  # nothing reached the worker (a comparison ran out its 1 s)
    assert got == [
        (None, "unparsable reference: refused: a power tower"),
        (None, "unparsable reference: refused: an exponent above 10000"),
        (None, "unparsable reference: refused: an exponent above 10000"),
        (True, ""),
    ]
    assert [ungraded_cause(reason) for _, reason in got[:3]] == ["reference"] * 3
    # the same answer written in full is still the reference's exact text: right without any comparison
    assert rule_verdicts(["The answer is $9^{9^{9}}$"], ["$9^{9^{9}}$"], ["fill_blank"]) == [(True, "")]


def test_a_reference_that_times_out_is_the_reference_s_fault():
    from rlev_cli.verify import mathcheck
    from rlev_cli.verify.worker import math_worker

    slow = "$" + "+".join(f"x_{{{i}}}^{{{i}}}" for i in range(4000)) + "$"  # parsing it takes seconds
    mathcheck._FORMS_CACHE.pop(slow, None)
    [(ok, reason)] = math_worker().run([["math", "x", [slow], True]], 0.3)
    assert (ok, reason) == (None, "timeout parsing the reference (after 0.3 s)")
    assert ungraded_cause(reason) == "reference"


def test_the_grader_counts_a_response_fault_as_wrong_and_a_reference_fault_as_out():
    verdicts = Grader("rule").grade(
        ["q"] * 4,
        ["Therefore, the answer is 7", TOWER, "Therefore, the answer is 7", MEGABYTE],
        ["7", "4", WORKED, "7"],
        ["numeric", "numeric", "free_form", "numeric"],
    )
    assert verdicts == [
        Verdict(True, "rule"),
        Verdict(False, "rule", "refused: a power tower", cause="response"),
        Verdict(None, "none", "free-form reference: needs the judge", cause="reference"),
        Verdict(False, "rule", "refused: a response of 1,048,604 characters (at most 200,000)", cause="response"),
    ]


def test_the_reward_is_zero_for_a_response_fault_and_none_for_a_reference_fault():
    logged: dict[str, list] = {}
    reward = RlevReward("rlev", alpha=10.0, grader=Grader("rule"))
    got = reward(
        prompts=["q"] * 4,
        completions=["Therefore, the answer is 7", TOWER, "Therefore, the answer is 7", BOXES],
        question=["q"] * 4,
        answer=["7", "4", WORKED, "7"],
        qtype=["numeric", "numeric", "free_form", "numeric"],
        value=[0.05, 0.05, 0.05, 0.02],
        id=["a", "b", "c", "d"],
        log_extra=lambda name, column: logged.__setitem__(name, column),
    )
    assert got == [1.5, 0.0, None, 0.0]
    assert logged["correct"] == [True, False, None, False]
    assert logged["ungraded_cause"] == [None, "response", "reference", "response"]
    assert logged["ungraded_reason"] == [
        None,
        "refused: a power tower",
        "free-form reference: needs the judge",
        "refused: 3,000 \\boxed{} in the response (at most 100)",
    ]


def _questions(path):
    from rlev_cli.schema import QUESTIONS, write_table

    rows = [
        {"id": f"q{k}", "exam_id": "e", "qtype": "free_form" if k == 3 else "numeric", "question": f"Q{k}?",
         "answer": WORKED if k == 3 else "7", "score": 3.0 * (k + 1), "total": 30.0, "value": (k + 1) / 10,
         "value_source": "score", "split": "test", "source": f"f:{k}"}
        for k in range(4)
    ]  # fmt: skip
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")


def test_evaluate_counts_a_response_fault_as_wrong_in_acc_and_h_acc(tmp_path, workspace):
    questions, responses = tmp_path / "q.parquet", tmp_path / "r.jsonl"
    _questions(questions)
    texts = ["Therefore, the answer is 7", TOWER, MEGABYTE, "Therefore, the answer is 7"]
    responses.write_text(
        "".join(json.dumps({"benchmark": "indomain", "id": f"q{k}", "response": t}) + "\n" for k, t in enumerate(texts))
    )
    args = ["evaluate", "--responses", str(responses), "--data", str(questions), "--out", str(tmp_path / "e"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    row = summary["comparison"][0]
    # graded: q0 right, q1 and q2 wrong (their responses are refused); q3 out (its reference needs the judge)
    assert (row["n"], row["coverage"]) == (3, 75.0)
    assert row["acc"] == pytest.approx(100 / 3)
    assert row["h_acc"] == pytest.approx(100 * 0.1 / (0.1 + 0.2 + 0.3))
    assert any(
        w == "r indomain: 2 response(s) could not be graded because of what they wrote and count as wrong in Acc "
        "and H-Acc; most common reason (1x): refused: a power tower"
        for w in summary["warnings"]
    ), summary["warnings"]
    rows = pq.read_table(tmp_path / "e" / "predictions.parquet").to_pylist()
    assert [r["correct"] for r in rows] == [True, False, False, None]
    assert [r["ungraded_cause"] for r in rows] == [None, "response", "response", "reference"]
    assert [r["verdict_source"] for r in rows] == ["rule", "rule", "rule", "none"]
    table = pq.read_table(tmp_path / "e" / "summary.parquet").to_pylist()
    assert [r["n_ungraded_response"] for r in table if r["bucket"] == "all"] == [2]


def test_train_counts_a_response_fault_as_wrong_in_the_baseline(tmp_path, monkeypatch):
    """A real `rlev train` step (RLOO): the refused completion earns 0 and shares the leave-one-out baseline."""
    from tests.train.test_advantages import S_HIGH, S_LOW, two_prompt_table

    why = "refused: a power tower"

    def grade(self, questions, responses, references, qtypes):
        pattern = [Verdict(True, "rule"), Verdict(False, "rule"), rule_verdict(None, why), Verdict(True, "rule")]
        return [pattern[i % 4] for i in range(len(responses))]

    monkeypatch.setattr(Grader, "grade", grade)
    data, run = two_prompt_table(tmp_path / "q.parquet"), tmp_path / "run"
    args = ["train", "--data", str(data), "--algo", "rloo", "--max-steps", "1", "--batch-size", "8"]
    args += ["--max-completion-length", "6", "--kl-coef", "0", "--output", str(run), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    for qid, s in (("high", S_HIGH), ("low", S_LOW)):
        group = [r for r in rows if r["id"] == qid]
        assert [r["correct"] for r in group] == [True, False, False, True]
        assert [r["ungraded_cause"] for r in group] == [None, None, "response", None]
        assert [r["ungraded_reason"] for r in group] == [None, None, why, None]
        assert [r["reward"] for r in group] == pytest.approx([s, 0.0, 0.0, s])
        # leave-one-out over all 4: the refused completion is in every sibling's baseline and has its own
        expected = [2 * s / 3, -2 * s / 3, -2 * s / 3, 2 * s / 3]
        assert [r["advantage"] for r in group] == pytest.approx(expected, abs=1e-5)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["ungraded"], summary["ungraded_response_counted_wrong"]) == (0, 2)
    assert (
        f"2 of 8 sampled completion(s) could not be graded because of what they wrote and were counted as wrong "
        f"(reward 0): {why}: 2" in result.stderr
    )
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["n_ungraded"], manifest["n_ungraded_response"]) == (0, 2)
    assert manifest["ungraded_response_reasons"] == {why: 2}
