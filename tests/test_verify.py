"""The rule-based verifier on real reference answers from the fixtures."""

from __future__ import annotations

import json

import pytest

from rlev_cli.verify import check, extract_final_answer
from rlev_cli.verify.extract import last_line
from rlev_cli.verify.judge import JUDGE_PROMPT, judge_messages
from tests.conftest import EXAMS

JEE = {(r["type"], r["gold"]) for r in json.loads((EXAMS / "jeebench" / "dataset.json").read_text())}


def test_fixture_answers_are_the_ones_tested():
    assert {("MCQ", "D"), ("MCQ(multiple)", "ACD"), ("Numeric", "76.25"), ("Numeric", "1.00"), ("Integer", "13")} <= JEE


@pytest.mark.parametrize(
    "response,reference,qtype,expected",
    [
        ("Therefore, the answer is D", "D", "single_choice", 1.0),
        ("Therefore, the answer is (C).", "D", "single_choice", 0.0),
        ("so the answer is A, C and D", "ACD", "multi_choice", 1.0),
        ("Therefore, the answer is AC", "ACD", "multi_choice", 0.0),
        ("Therefore, the answer is 76.25", "76.25", "numeric", 1.0),
        ("Therefore, the answer is 76.26", "76.25", "numeric", 1.0),  # JEEBench tolerance 0.01
        ("Therefore, the answer is 76.3", "76.25", "numeric", 0.0),
        ("Therefore, the answer is 1", "1.00", "numeric", 1.0),
        ("Therefore, the answer is \\boxed{13}", "13", "numeric", 1.0),
        # GAOKAO fill-in 2022（全国乙卷） index 76: two accepted forms separated by \#\#
        ("所以答案是 $\\frac{3}{10}$", "$\\frac{3}{10} \\# \\# 0.3$", "fill_blank", 1.0),
        ("Therefore, the answer is 0.3", "$\\frac{3}{10} \\# \\# 0.3$", "fill_blank", 1.0),
        ("Therefore, the answer is $5x-y+2=0$", "$5 x-y+2=0$", "fill_blank", 1.0),
        ("Therefore, the answer is $-\\frac{10}{3}$", "$-\\frac{10}{3}$.", "fill_blank", 1.0),
        ("Therefore, the answer is D,C,B", "D,C,B", "single_choice", 1.0),  # 3 slots, in order
        ("Therefore, the answer is D,B,C", "D,C,B", "single_choice", 0.0),
        ("no final answer at all", "B", "single_choice", 0.0),
        ("Therefore, the answer is 4", "解: (1) 由已知 ... 证毕", "free_form", None),  # needs the judge
    ],
)
def test_check_by_qtype(response, reference, qtype, expected):
    assert check(response, reference, qtype) == expected


def test_extraction_takes_the_last_marker():
    assert extract_final_answer("The answer is A. Wait. Therefore, the answer is B.") == "B"
    assert extract_final_answer("line one\n\nfinal line 42\n") == "final line 42"
    assert extract_final_answer("정답은 3") == "3"


def test_judge_prompt_sees_only_the_last_line():
    """The messages the judge is sent (the paper's protocol: the final step only, then the reference)."""
    messages = judge_messages("What is 3+4?", "step 1: 3\nstep 2: add 4\nTherefore, the answer is 7\n\n", "7")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert user == JUDGE_PROMPT.format(question="What is 3+4?", response="Therefore, the answer is 7", reference="7")
    assert "step 1" not in user and "step 2" not in user
    assert last_line("step 1\nstep 2\nTherefore, the answer is 7\n\n") == "Therefore, the answer is 7"
