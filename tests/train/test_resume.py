"""#11 items 4-5: --resume continues the saved run (not the defaults), refuses contradicting flags, extends
only through a logged override, trains nothing past a finished run; metrics keep every step's row."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app

from .test_advantages import two_prompt_table

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [*args, "--json"])


def with_an_unvalued_row(path):
    """The two-prompt table plus one train row without a value (an unscored question)."""
    import pyarrow as pa

    from rlev_cli.schema import QUESTIONS, write_table

    rows = pq.read_table(path).to_pylist()
    rows.append({**rows[0], "id": "unvalued", "score": None, "total": None, "value": None, "value_source": "none"})
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")
    return path


def test_resume_reads_the_saved_configuration(tmp_path):
    data = with_an_unvalued_row(two_prompt_table(tmp_path / "q.parquet"))
    run = tmp_path / "run"
    first = invoke(
        "train", "--data", str(data), "--max-steps", "1", "--save-steps", "1", "--batch-size", "8",
        "--max-completion-length", "4", "--learning-rate", "1e-4", "--kl-coef", "0", "--output", str(run),
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    # #11 item 9: the row without a value is counted (one line, the summary, the manifest), not dropped silently
    assert "1 of 3 train row(s) have no 'value' value and are left out" in first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1])["train_rows_without_value"] == 1
    # #9 item 7: the run folder says where the logs went
    assert json.loads((run / "tracking.json").read_text()) == {
        "report_to": "none",
        "where": "nowhere else: metrics.parquet and rollouts.parquet in this folder",
    }
    metrics = pq.read_table(run / "metrics.parquet").to_pylist()
    # the last (only) step keeps its row: reward logged, not replaced by the end-of-run runtime row
    assert [m["step"] for m in metrics] == [1] and metrics[0]["reward"] == metrics[0]["reward"]
    assert "train_runtime" not in metrics[0]
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["n_train_split"], manifest["n_without_value"], manifest["n_prompts"]) == (3, 1, 2)
    assert manifest["tracking"]["report_to"] == "none" and manifest["trl_config"]["report_to"] == []  # none: no tracker
    assert manifest["train_summary"]["train_runtime"] > 0 and manifest["final_metrics"]["step"] == 1

    # a finished run: no extra step, nothing rewritten
    again = invoke("train", "--output", str(run), "--resume")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout.strip().splitlines()[-1])["steps"] == 1
    assert f"--resume: {run} already finished at step 1; nothing to train" in again.stderr
    assert sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1"]

    # a flag that contradicts the saved run is refused, naming both values
    wrong = invoke("train", "--output", str(run), "--resume", "--algo", "grpo")
    assert wrong.exit_code == 1
    assert str(wrong.exception).startswith(
        f"--algo grpo contradicts the run being resumed (algo = rloo in {run / 'config.json'})"
    )
    wrong = invoke("train", "--output", str(run), "--resume", "--learning-rate", "5e-7")
    assert "--learning-rate 5e-07 contradicts the run being resumed (learning_rate = 0.0001" in str(wrong.exception)

    # --max-steps may extend it: logged, recorded, and every other setting is the saved one (not the defaults)
    extended = invoke("train", "--output", str(run), "--resume", "--max-steps", "2")
    assert extended.exit_code == 0, extended.output
    assert "--resume: --max-steps 2 overrides the saved 1" in extended.stderr
    summary = json.loads(extended.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["resumed_from"].endswith("checkpoint-1")
    trl = json.loads((run / "manifest.json").read_text())["trl_config"]
    assert (trl["learning_rate"], trl["max_completion_length"], trl["max_steps"]) == (1e-4, 4, 2)
    assert json.loads((run / "config.json").read_text())["max_steps"] == 2
    overrides = [json.loads(line) for line in (run / "resume_overrides.jsonl").read_text().splitlines()]
    assert [o["max_steps"] for o in overrides] == [[1, 2]]
    assert [m["step"] for m in pq.read_table(run / "metrics.parquet").to_pylist()] == [1, 2]


def test_resume_of_a_missing_run_is_an_error(tmp_path):
    result = invoke("train", "--output", str(tmp_path / "nope"), "--resume")
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"--resume: {tmp_path / 'nope'} does not exist (nothing to resume); drop --resume to start a new run"
    )
    assert not (tmp_path / "nope").exists()


def test_output_that_holds_a_run_needs_resume(ingested, workspace, tmp_path):
    """A finished run is never trained over: its model, metrics and checkpoints would mix with a new run's."""
    from typer.testing import CliRunner

    from rlev_cli.cli import app

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    result = CliRunner().invoke(app, ["train", "--output", str(run), "--max-steps", "1"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"--output {run} already holds a run; add --resume to continue it, or choose another --output"
    )
    assert (run / "config.json").read_text() == "{}"
