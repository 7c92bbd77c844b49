"""#17 item 4: tests that kill the mutants of `rlev_cli.rewards` the older tests let live (docs/testing.md):
every mode's scale, α passed through, the uniform scale's edges, the question text, the logged columns."""

from __future__ import annotations

import random

import pytest

from rlev_cli.errors import RlevError
from rlev_cli.rewards import RlevReward, _text, prepare_values, value_scale
from rlev_cli.verify.grade import Verdict


class RecordingGrader:
    """Grades by a fixed list of verdicts and records what it was asked."""

    def __init__(self, verdicts):
        self.verdicts, self.calls = verdicts, []

    def grade(self, questions, responses, references, qtypes):
        self.calls.append((list(questions), list(responses), list(references), list(qtypes)))
        return self.verdicts


def test_value_scale_is_the_papers_formula_with_its_alpha():
    assert value_scale(0.05) == 1.5 and value_scale(0.2) == 2.0 and value_scale(0.0) == 1.0
    assert value_scale(0.25, alpha=2.0) == 1.5 and value_scale(0.6, alpha=2.0) == 2.0


def test_prepare_values_means_s_over_the_set_with_its_alpha_and_shuffles_by_seed():
    values = [0.0, 0.1, 0.25, 0.5, 1.0]
    same, mean_scale = prepare_values(values, "rlev", 2.0, seed=3)
    assert same == values and mean_scale == (1.0 + 1.2 + 1.5 + 2.0 + 2.0) / 5
    assert prepare_values(values, "uniform", 2.0, seed=3) == (values, mean_scale)
    expected = list(values)
    random.Random(3).shuffle(expected)
    assert prepare_values(values, "shuffled", 2.0, seed=3) == (expected, mean_scale) and expected != values
    assert prepare_values([], "uniform", 10.0, seed=0) == ([], 0.0)  # no division by zero
    with pytest.raises(RlevError, match=r"^2 value\(s\) outside \[0, 1\] \(first: 1\.5\)"):
        prepare_values([0.0, 1.5, -1.0], "rlev", 10.0, seed=0)


def test_each_mode_scales_as_documented():
    assert RlevReward("rlev", alpha=2.0).scale(0.25) == 1.5
    assert RlevReward("shuffled", alpha=10.0).scale(0.05) == 1.5
    assert RlevReward("correctness").scale(0.3) == 1.0
    for scale in (1.0, 1.7, 2.0):  # the edges of [1, 2] are allowed
        assert RlevReward("uniform", uniform_scale=scale).scale(0.0) == scale
    with pytest.raises(ValueError, match="unknown reward mode 'points'"):
        RlevReward("points")


def test_the_default_grader_is_the_rule_grader():
    reward = RlevReward("correctness")
    got = reward(prompts=["q"] * 2, completions=["The answer is B", "The answer is C"], answer=["B", "B"],
                 qtype=["single_choice"] * 2, value=[0.3, 0.3])  # fmt: skip
    assert got == [1.0, 0.0]


def test_questions_come_from_the_prompts_when_the_column_is_missing_and_logs_are_complete():
    grader = RecordingGrader(
        [
            Verdict(True, "rule"),
            Verdict(None, "none", reason="free-form", cause="reference"),
            Verdict(False, "rule", reason="refused", cause="response"),  # ungraded by its response: wrong
        ]
    )
    reward = RlevReward("rlev", alpha=10.0, grader=grader)
    prompts = [[{"role": "system", "content": "S"}, {"role": "user", "content": f"Q{k}"}] for k in range(3)]
    completions = [[{"role": "assistant", "content": f"A{k}"}] for k in range(3)]
    logged = {}
    got = reward(prompts=prompts, completions=completions, answer=["x", "y", "z"], qtype=["numeric"] * 3,
                 value=[0.05, 0.5, 0.02], log_extra=lambda k, v: logged.__setitem__(k, v))  # fmt: skip
    assert got == [1.5, None, 0.0]
    assert grader.calls == [(["Q0", "Q1", "Q2"], ["A0", "A1", "A2"], ["x", "y", "z"], ["numeric"] * 3)]
    assert logged == {
        "id": [None, None, None],
        "value": [0.05, 0.5, 0.02],
        "correct": [True, None, False],
        "verdict": ["rule", "none", "rule"],
        "ungraded_reason": [None, "free-form", "refused"],
        "ungraded_cause": [None, "reference", "response"],
    }
    given = reward(prompts=prompts, completions=completions, answer=["x"] * 3, qtype=["numeric"] * 3,
                   value=[0.1] * 3, question=["q0", "q1", "q2"], id=["a", "b", "c"],
                   log_extra=lambda k, v: logged.__setitem__(k, v))  # fmt: skip
    assert given == [2.0, None, 0.0] and grader.calls[-1][0] == ["q0", "q1", "q2"] and logged["id"] == ["a", "b", "c"]
    with pytest.raises(ValueError):  # one value per completion, or nothing
        reward(prompts=prompts, completions=completions, answer=["x"] * 3, qtype=["numeric"] * 3, value=[0.1] * 2)


def test_text_of_a_completion_or_prompt():
    assert _text("plain") == "plain"
    assert _text([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]) == "b"
    assert _text([{"role": "assistant"}]) == ""
    assert _text([]) == "[]"
    assert _text(["a", "b"]) == "['a', 'b']"
    assert _text(({"content": "x"},)) == "({'content': 'x'},)"
    assert _text(42) == "42"


def test_defaults_are_the_papers_and_one_row_is_its_own_mean():
    reward = RlevReward()
    assert (reward.mode, reward.alpha, reward.uniform_scale) == ("rlev", 10.0, 1.0)
    assert prepare_values([0.05], "uniform", 10.0, seed=0) == ([0.05], 1.5)
