"""#17 item 2: the values are checked at the door of `train` and `evaluate`. A table written by another tool
(pyarrow directly, no rlev metadata) with a NaN, infinite, negative or > 1 value is one `Error:` naming the
table, the column, the count and the first ids; `--skip-bad-values` leaves those rows out and counts them."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.rewards import RlevReward, prepare_values, value_scale

runner = CliRunner()
NAN, INF = float("nan"), float("inf")
ADVICE = (
    "a value is a share of the exam's points: fix the table, or pass --skip-bad-values to leave these rows out "
    "(counted)"
)


def foreign_table(path, values, split="train", column="value"):
    """A questions table as another tool writes it: plain pyarrow, only the columns rlev reads."""
    n = len(values)
    table = pa.table(
        {
            "id": [f"q{k}" for k in range(n)],
            "exam_id": ["paper-1"] * n,
            "qtype": ["single_choice"] * n,
            "question": [f"Question {k}: which letter comes first? A) a B) b" for k in range(n)],
            "answer": ["A"] * n,
            "split": [split] * n,
            "source": [f"other-tool:{k}" for k in range(n)],
            column: pa.array(values, pa.float64()),
        }
    )
    pq.write_table(table, path)
    return path


CASES = [
    ([0.1, NAN, 0.2, 0.3], "1 row(s) of column 'value' hold a value outside [0, 1] (NaN: 1; first ids: q1)"),
    ([0.1, 0.2, INF], "1 row(s) of column 'value' hold a value outside [0, 1] (infinite: 1; first ids: q2)"),
    ([-INF, 0.2, 0.3], "1 row(s) of column 'value' hold a value outside [0, 1] (infinite: 1; first ids: q0)"),
    ([0.1, -0.05, 0.3], "1 row(s) of column 'value' hold a value outside [0, 1] (negative: 1; first ids: q1)"),
    ([0.1, 0.2, 1.5], "1 row(s) of column 'value' hold a value outside [0, 1] (above 1: 1; first ids: q2)"),
    (
        [NAN, 0.0, 1.0, 2.0, -1.0, INF, NAN, 0.5, 3.0, None, -0.5],  # 0 and 1 are fine, null is unscored
        "7 row(s) of column 'value' hold a value outside [0, 1] (NaN: 2, infinite: 1, negative: 2, above 1: 2; "
        "first ids: q0, q3, q4, q5, q6)",
    ),
]


@pytest.mark.parametrize("values,message", CASES)
def test_train_refuses_bad_values_naming_table_column_count_and_ids(tmp_path, values, message):
    data = foreign_table(tmp_path / "q.parquet", values)
    result = runner.invoke(app, ["train", "--data", str(data), "--max-steps", "1"])
    assert result.exit_code == 1
    assert str(result.exception) == f"{data}: {message}; {ADVICE}"
    assert not (tmp_path / "ws" / "runs").exists()  # nothing started


@pytest.mark.parametrize("values,message", CASES)
def test_evaluate_refuses_bad_values_the_same_way(tmp_path, values, message):
    data = foreign_table(tmp_path / "q.parquet", values, split="test")
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"benchmark": "indomain", "id": "q0", "response": "The answer is A"}) + "\n")
    result = runner.invoke(app, ["evaluate", "--responses", str(responses), "--data", str(data), "--out", "e"])
    assert result.exit_code == 1
    assert str(result.exception) == f"{data}: {message}; {ADVICE}"
    assert not (tmp_path / "e" / "predictions.parquet").exists()


def test_the_column_used_is_the_one_checked(tmp_path):
    data = foreign_table(tmp_path / "q.parquet", [0.1, 0.2, -3.0], column="value_pred")
    result = runner.invoke(app, ["train", "--data", str(data), "--value-column", "value_pred", "--max-steps", "1"])
    wanted = "1 row(s) of column 'value_pred' hold a value outside [0, 1] (negative: 1; first ids: q2)"
    assert str(result.exception) == f"{data}: {wanted}; {ADVICE}"


def test_only_the_train_split_is_checked_by_train_and_only_the_evaluated_split_by_evaluate(tmp_path):
    data = tmp_path / "q.parquet"
    foreign_table(data, [0.1, 0.2, NAN])
    table = pq.read_table(data)
    table = table.set_column(5, "split", pa.array(["train", "train", "test"]))
    pq.write_table(table, data)
    from rlev_cli.train.data import load_train_rows

    rows = load_train_rows(data, "value")
    assert [r["id"] for r in rows.rows] == ["q0", "q1"] and rows.bad_values.n == 0


def test_skip_bad_values_leaves_them_out_and_counts_them_in_train(tmp_path, tiny_model_dir):
    data = foreign_table(tmp_path / "q.parquet", [0.05, NAN, 0.02, -0.1, None])
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--model", str(tiny_model_dir), "--reward", "uniform", "--max-steps", "1"]
    args += ["--batch-size", "8", "--max-completion-length", "4", "--kl-coef", "0", "--output", str(run)]
    result = runner.invoke(app, [*args, "--skip-bad-values", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["train_rows_bad_value"], summary["train_rows_without_value"], summary["prompts"]) == (2, 1, 2)
    assert (
        "--skip-bad-values: 2 train row(s) with a 'value' value outside [0, 1] left out (NaN: 1, negative: 1; "
        "first ids: q1, q3)"
    ) in result.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["bad_values"] == {
        "column": "value",
        "n": 2,
        "kinds": {"NaN": 1, "negative": 1},
        "first_ids": ["q1", "q3"],
    }
    assert manifest["uniform_scale"] == (value_scale(0.05) + value_scale(0.02)) / 2  # finite: 1.35
    rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
    assert rollouts and all(r["reward"] in (0.0, manifest["uniform_scale"]) for r in rollouts)
    assert {r["id"] for r in rollouts} <= {"q0", "q2"}  # the kept rows only, their question as the prompt
    assert all(r["prompt"] == f"Question {r['id'][1]}: which letter comes first? A) a B) b" for r in rollouts)


def test_skip_bad_values_leaves_them_out_and_counts_them_in_evaluate(tmp_path):
    data = foreign_table(tmp_path / "q.parquet", [0.5, 1.5, 0.25, INF], split="test")
    responses = tmp_path / "r.jsonl"
    responses.write_text(
        "".join(
            json.dumps({"benchmark": "indomain", "id": f"q{k}", "response": "The answer is A"}) + "\n"
            for k in (0, 2)  # the rows kept
        )
    )
    args = ["evaluate", "--responses", str(responses), "--data", str(data), "--out", "e", "--json"]
    result = runner.invoke(app, [*args, "--skip-bad-values"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = {"column": "value", "n": 2, "kinds": {"infinite": 1, "above 1": 1}, "first_ids": ["q1", "q3"]}
    assert summary["bad_values"] == expected
    assert (
        "--skip-bad-values: 2 in-domain row(s) with a 'value' value outside [0, 1] left out "
        "(infinite: 1, above 1: 1; first ids: q1, q3)"
    ) in summary["warnings"]
    predictions = pq.read_table(tmp_path / "e" / "predictions.parquet")
    assert predictions["id"].to_pylist() == ["q0", "q2"]
    assert summary["comparison"][0]["h_acc"] == 100.0 and summary["comparison"][0]["n"] == 2
    meta = json.loads(predictions.schema.metadata[b"rlev"])
    assert meta["bad_values"] == expected


@pytest.mark.parametrize("bad", [NAN, INF, -INF, -0.1, 1.5])
def test_rewards_refuse_a_value_outside_0_1_so_the_uniform_scale_stays_finite(bad):
    for mode in ("rlev", "uniform", "shuffled", "correctness"):
        with pytest.raises(RlevError) as error:
            prepare_values([0.1, bad, 0.3], mode, 10.0, seed=0)
        assert str(error.value) == f"1 value(s) outside [0, 1] (first: {bad}); the reward needs shares in [0, 1]"
    _, mean_scale = prepare_values([0.0, 1.0], "uniform", 10.0, seed=0)  # the edges are fine
    assert mean_scale == 1.5 and math.isfinite(mean_scale)


@pytest.mark.parametrize("scale", [NAN, INF, 0.5, 2.5])
def test_the_reward_refuses_a_uniform_scale_outside_1_2(scale):
    with pytest.raises(RlevError) as error:
        RlevReward("uniform", uniform_scale=scale)
    assert str(error.value) == f"uniform scale {scale}: s̄ is a mean of s(x) in [1, 2]"
    assert RlevReward("uniform", uniform_scale=2.0).scale(0.3) == 2.0
