"""#8 item 4: an ungraded completion (reward None) is out of every baseline and of REINFORCE++'s whitening,
with advantage 0, in a real `rlev train` step; rollouts and the manifest record it with the reason."""

from __future__ import annotations

import json
import logging

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.verify.grade import Grader, Verdict

from .test_advantages import S_HIGH, S_LOW, two_prompt_table

runner = CliRunner()
REASON = "test: the reference cannot be parsed"


@pytest.fixture
def graded_pattern(monkeypatch):
    """Each group of 4 completions (consecutive in a step's batch) is graded correct, wrong, ungraded, correct."""
    calls = []

    def grade(self, questions, responses, references, qtypes):
        calls.append(len(responses))
        pattern = [Verdict(True, "rule"), Verdict(False, "rule"), Verdict(None, "none", REASON), Verdict(True, "rule")]
        return [pattern[i % 4] for i in range(len(responses))]

    monkeypatch.setattr(Grader, "grade", grade)
    return calls


def train_one_step(tmp_path, algo, *extra):
    data = two_prompt_table(tmp_path / "q.parquet")
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--algo", algo, "--max-steps", "1", "--batch-size", "8"]
    args += ["--max-completion-length", "6", "--kl-coef", "0", "--output", str(run), "--json", *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return run, result


def by_prompt(rows):
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["id"], []).append(row)
    return groups


@pytest.mark.parametrize(
    "algo,extra",
    [("rloo", []), ("grpo", ["--scale-rewards", "none"]), ("grpo", ["--scale-rewards", "batch"]), ("reinforce++", [])],
)
def test_ungraded_completion_gets_advantage_zero_and_no_share_in_the_baseline(
    tmp_path, graded_pattern, caplog, algo, extra
):
    with caplog.at_level(logging.WARNING):
        run, result = train_one_step(tmp_path, algo, *extra)
    assert graded_pattern == [8]  # the whole step's 8 completions in one Grader.grade call
    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    groups = by_prompt(rows)
    assert sorted(groups) == ["high", "low"]
    scale = {"high": S_HIGH, "low": S_LOW}
    for qid, group in groups.items():
        assert [r["correct"] for r in group] == [True, False, None, True]
        assert [r["verdict"] for r in group] == ["rule", "rule", "none", "rule"]
        assert [r["ungraded_reason"] for r in group] == [None, None, REASON, None]
        assert group[0]["reward"] == pytest.approx(scale[qid]) and group[1]["reward"] == 0.0
        assert group[2]["reward"] is None and group[3]["reward"] == pytest.approx(scale[qid])
        assert group[2]["advantage"] == 0.0
    s_h, s_l = S_HIGH, S_LOW
    if algo == "rloo":  # leave-one-out over the graded siblings only: b = mean of the 2 other graded rewards
        expected = {q: [s / 2, -s, 0.0, s / 2] for q, s in (("high", s_h), ("low", s_l))}
    elif extra == ["--scale-rewards", "none"]:  # r - mean of the 3 graded rewards
        expected = {q: [s / 3, -2 * s / 3, 0.0, s / 3] for q, s in (("high", s_h), ("low", s_l))}
    elif extra == ["--scale-rewards", "batch"]:  # / (Bessel std of the 6 graded rewards of the batch + 1e-4)
        graded = [s_h, 0.0, s_h, s_l, 0.0, s_l]
        mean = sum(graded) / 6
        std = (sum((g - mean) ** 2 for g in graded) / 5) ** 0.5 + 1e-4
        expected = {q: [s / 3 / std, -2 * s / 3 / std, 0.0, s / 3 / std] for q, s in (("high", s_h), ("low", s_l))}
    else:  # REINFORCE++: no baseline; token whitening over the graded completions' tokens only
        tokens = [(r["reward"], r["length"]) for r in rows if r["correct"] is not None]
        n = sum(length for _, length in tokens)
        mean = sum(r * length for r, length in tokens) / n
        std = (sum(length * (r - mean) ** 2 for r, length in tokens) / n) ** 0.5
        expected = {
            q: [(s - mean) / std, (0.0 - mean) / std, 0.0, (s - mean) / std] for q, s in (("high", s_h), ("low", s_l))
        }
    for qid, group in groups.items():
        assert [r["advantage"] for r in group] == pytest.approx(expected[qid], abs=1e-5)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["completions"] == 8 and summary["ungraded"] == 2
    assert f"2 of 8 sampled completion(s) could not be graded (reward None, advantage 0): {REASON}: 2" in result.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["n_ungraded"] == 2 and manifest["ungraded_reasons"] == {REASON: 2}
    # TRL's multi-kilobyte dump of the batch's kwargs is replaced by the one counted line above
    assert not [r for r in caplog.records if "All reward functions returned None" in r.getMessage()]
