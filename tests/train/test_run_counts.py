"""#17 audit D4-D6: what a run reports is the whole run's. A resumed run counts the completions sampled before
the resume (rollouts.parquet holds them all); test-split rows with a bad value (the --eval-steps set) are
counted and said, and their error names the split; --kl-form trl under --recipe paper is a recipe deviation."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.train.config import TrainConfig

from .test_advantages import two_prompt_table
from .test_values_door import ADVICE, NAN

runner = CliRunner()


def ungraded_pattern():
    """A `Grader.grade` that, in order over the whole run, grades: correct, wrong, ungraded for its
    reference (left out), ungraded for its response (counted wrong), correct, ..."""
    from rlev_cli.verify.grade import Verdict

    verdicts = [
        Verdict(True, "rule"),
        Verdict(False, "rule"),
        Verdict(None, "none", "reference not parsed", cause="reference"),
        Verdict(False, "none", "no final answer", cause="response"),
    ]
    seen = [0]

    def grade(self, questions, responses, references, qtypes):
        out = []
        for _ in references:
            out.append(verdicts[seen[0] % 4])
            seen[0] += 1
        return out

    return grade


def test_a_resumed_run_counts_the_completions_of_the_whole_run(tmp_path, tiny_model_dir, monkeypatch):
    """D4: the resumed session samples 8 of the run's 16 completions; the summary and the manifest used to
    count only those 8 (a reinforce++ run resumed inside a rollout reported 0)."""
    from rlev_cli.verify.grade import Grader

    monkeypatch.setattr(Grader, "grade", ungraded_pattern())
    data = two_prompt_table(tmp_path / "q.parquet")
    run = tmp_path / "run"
    first = runner.invoke(
        app,
        [
            "train", "--data", str(data), "--model", str(tiny_model_dir), "--max-steps", "1", "--save-steps", "1",
            "--batch-size", "8", "--max-completion-length", "4", "--kl-coef", "0", "--algo", "grpo",
            "--output", str(run), "--json",
        ],
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    resumed = runner.invoke(app, ["train", "--output", str(run), "--resume", "--max-steps", "2", "--json"])
    assert resumed.exit_code == 0, resumed.output
    rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
    assert [r["step"] for r in rollouts] == [1] * 8 + [2] * 8
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["resumed_from"].endswith("checkpoint-1")
    left_out = Counter(r["ungraded_reason"] for r in rollouts if r["correct"] is None)
    wrong = Counter(r["ungraded_reason"] for r in rollouts if r["ungraded_cause"] == "response")
    assert (len(rollouts), left_out, wrong) == (16, {"reference not parsed": 4}, {"no final answer": 4})
    assert (manifest["n_completions"], manifest["n_ungraded"], manifest["n_ungraded_response"]) == (16, 4, 4)
    assert manifest["ungraded_reasons"] == {"reference not parsed": 4}
    assert manifest["ungraded_response_reasons"] == {"no final answer": 4}
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["completions"] == 16
    said = " ".join(resumed.stderr.split())
    assert (
        "4 of 16 sampled completion(s) could not be graded (reward None, advantage 0): reference not parsed: 4" in said
    )
    assert (
        "4 of 16 sampled completion(s) could not be graded because of what they wrote and were counted as wrong "
        "(reward 0): no final answer: 4"
    ) in said


def with_test_rows(path, test_values):
    """The two-prompt table plus test rows t0, t1, ... with these values."""
    from rlev_cli.schema import QUESTIONS, write_table

    rows = pq.read_table(path).to_pylist()
    for k, value in enumerate(test_values):
        rows.append({**rows[0], "id": f"t{k}", "question": f"Test question {k}?", "value": value, "split": "test"})
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")
    return path


def test_a_bad_test_split_value_is_refused_naming_the_split(tmp_path, tiny_model_dir):
    """D5: --eval-steps checks the test split's values; the error says they are test-split rows."""
    data = with_test_rows(two_prompt_table(tmp_path / "q.parquet"), [0.1, NAN, 1.5])
    result = runner.invoke(
        app, ["train", "--data", str(data), "--model", str(tiny_model_dir), "--eval-steps", "1", "--max-steps", "1"]
    )
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"{data}: 2 test-split row(s) of column 'value' hold a value outside [0, 1] (NaN: 1, above 1: 1; "
        f"first ids: t1, t2); {ADVICE}"
    )


def test_skip_bad_values_counts_and_says_the_test_rows_left_out_of_the_eval_set(tmp_path, tiny_model_dir):
    """D5: with --skip-bad-values they were left out of the eval set silently (no warning, manifest n 0)."""
    data = with_test_rows(two_prompt_table(tmp_path / "q.parquet"), [0.1, NAN, 1.5])
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train", "--data", str(data), "--model", str(tiny_model_dir), "--eval-steps", "1", "--max-steps", "1",
            "--batch-size", "8", "--max-completion-length", "4", "--kl-coef", "0", "--skip-bad-values",
            "--output", str(run),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "--skip-bad-values: 2 test-split row(s) with a 'value' value outside [0, 1] left out of the --eval-steps "
        "set (NaN: 1, above 1: 1; first ids: t1, t2)"
    ) in " ".join(result.stderr.split())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["eval_bad_values"] == {
        "column": "value",
        "n": 2,
        "kinds": {"NaN": 1, "above 1": 1},
        "first_ids": ["t1", "t2"],
    }
    assert manifest["bad_values"]["n"] == 0  # the train split's own
    assert "eval_reward" in pq.read_table(run / "metrics.parquet").column_names  # t0 was evaluated


def test_kl_form_trl_under_the_paper_recipe_is_a_deviation():
    """D6: the recipe's KL is k1 in the reward (OpenRLHF's form); --kl-form trl puts TRL's k3 in the loss."""
    from rlev_cli.train.core import _deviation_flag, recipe_deviations

    trl = TrainConfig(recipe="paper", rollout_prompts=2, algo="grpo", kl_form="trl")
    assert recipe_deviations(trl) == {"kl_form": ["openrlhf", "trl"]}
    assert [_deviation_flag(k, v[1]) for k, v in recipe_deviations(trl).items()] == ["--kl-form trl"]
    for same in ("openrlhf", None):  # the recipe's own form, given or not
        assert recipe_deviations(TrainConfig(recipe="paper", rollout_prompts=2, algo="grpo", kl_form=same)) == {}
