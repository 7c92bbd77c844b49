"""#11 items 4-5: --resume continues the saved run (not the defaults), refuses contradicting flags, extends
only through a logged override, trains nothing past a finished run; metrics keep every step's row."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from rlev_cli.cli import app

from .test_advantages import S_HIGH, S_LOW, fixed_correctness, two_prompt_table  # noqa: F401  (fixture)

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
        "--algo", "grpo", "--reward", "correctness",
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
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    # #17 item 3: the summary names the run's own algorithm and reward, not the defaults (rloo, rlev)
    assert (summary["steps"], summary["algo"], summary["reward"]) == (1, "grpo", "correctness")
    assert f"--resume: {run} already finished at step 1; nothing to train" in again.stderr
    assert sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1"]

    # a flag that contradicts the saved run is refused, naming both values
    wrong = invoke("train", "--output", str(run), "--resume", "--algo", "rloo")
    assert wrong.exit_code == 1
    assert str(wrong.exception).startswith(
        f"--algo rloo contradicts the run being resumed (algo = grpo in {run / 'config.json'})"
    )
    wrong = invoke("train", "--output", str(run), "--resume", "--learning-rate", "5e-7")
    assert "--learning-rate 5e-07 contradicts the run being resumed (learning_rate = 0.0001" in str(wrong.exception)
    wrong = invoke("train", "--output", str(run), "--resume", "--kl-form", "openrlhf")  # as config.json has it
    assert "--kl-form openrlhf contradicts the run being resumed (kl_form = null in" in str(wrong.exception)
    same = invoke("train", "--output", str(run), "--resume", "--kl-form", "trl")  # what unset means for grpo
    assert same.exit_code == 0 and "nothing to train" in same.stderr, same.output

    # --max-steps may extend it: logged, recorded, and every other setting is the saved one (not the defaults)
    extended = invoke("train", "--output", str(run), "--resume", "--max-steps", "2")
    assert extended.exit_code == 0, extended.output
    assert "--resume: --max-steps 2 overrides the saved 1" in extended.stderr
    summary = json.loads(extended.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["resumed_from"].endswith("checkpoint-1")
    assert (summary["algo"], summary["reward"]) == ("grpo", "correctness")
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


class Stopped(Exception):
    """Raised from a callback right after a checkpoint is written: the run stops as a kill would leave it."""


TIMING = ("step_time", "train_runtime")  # wall-clock metrics differ between any two runs


def recipe_args(data, model, run, *extra):
    """A --recipe paper run on 2 prompts: rollouts of 8 completions, 2 per optimizer step, so one rollout
    feeds steps 1-4, the next steps 5-8, the last 9-12. lr 1e-2 so the weights really move."""
    return [
        "train", "--recipe", "paper", "--rollout-prompts", "2", "--algo", "grpo", "--data", str(data),
        "--model", str(model), "--max-completion-length", "6", "--learning-rate", "1e-2", "--max-steps", "12",
        "--output", str(run), *extra,
    ]  # fmt: skip


def recipe_run(data, model, run, *extra):
    return invoke(*recipe_args(data, model, run, *extra))


def run_outputs(run):
    from safetensors.torch import load_file

    metrics = [
        {k: v for k, v in row.items() if k not in TIMING} for row in pq.read_table(run / "metrics.parquet").to_pylist()
    ]
    return load_file(run / "model" / "model.safetensors"), metrics, pq.read_table(run / "rollouts.parquet").to_pylist()


def uninterrupted_run(data, model, run):
    """The run to compare with, never stopped: its weights moved from the start, its rewards and advantages
    are not 0. Returns its weights, metrics and rollouts."""
    from safetensors.torch import load_file

    whole = recipe_run(data, model, run, "--save-steps", "4")
    assert whole.exit_code == 0, whole.output
    weights, metrics, rollouts = run_outputs(run)
    start = load_file(next(model.glob("*.safetensors")))
    assert max((weights[k] - start[k]).abs().max().item() for k in start) > 1e-3
    assert [r["step"] for r in rollouts] == [1] * 8 + [5] * 8 + [9] * 8
    assert sorted({round(r["reward"], 6) for r in rollouts}) == [0.0, S_LOW, S_HIGH]
    assert min(abs(r["advantage"]) for r in rollouts) > 0
    return weights, metrics, rollouts


@pytest.mark.usefixtures("fixed_correctness")
def test_a_run_stopped_inside_a_rollout_resumes_exactly(tmp_path, tiny_model_dir, monkeypatch):
    """#17 item 1: a --recipe paper run stopped after its checkpoint at step 6 (the middle of the second
    rollout) and resumed, with --save-steps changed, ends with the same weights, metrics and rollouts, bit
    for bit, as the run that was never stopped; and those weights moved (rewards and advantages not 0)."""
    from rlev_cli.train.logs import RunLogCallback

    data = two_prompt_table(tmp_path / "q.parquet")
    weights, metrics, rollouts = uninterrupted_run(data, tiny_model_dir, tmp_path / "whole")

    stop = [6]

    def stop_at_6(self, args, state, control, **kwargs):
        if state.global_step in stop:
            raise Stopped

    monkeypatch.setattr(RunLogCallback, "on_save", stop_at_6, raising=False)
    stopped = recipe_run(data, tiny_model_dir, tmp_path / "cut", "--save-steps", "3")
    assert isinstance(stopped.exception, Stopped)
    assert sorted(p.name for p in (tmp_path / "cut" / "checkpoints").glob("checkpoint-*")) == [
        "checkpoint-3",
        "checkpoint-6",
    ]
    stop.clear()
    # a checkpoint without its saved rollout (an older rlev) still resumes, with a warning that it is not exact
    old = tmp_path / "old"
    shutil.copytree(tmp_path / "cut", old)
    (old / "checkpoints" / "checkpoint-6" / "rlev_rollout_state_0.pt").unlink()
    inexact = invoke("train", "--output", str(old), "--resume", "--max-steps", "7")
    assert inexact.exit_code == 0, inexact.output
    assert (
        f"{old / 'checkpoints' / 'checkpoint-6'} was written inside a rollout without its saved rollout "
        "(rlev_rollout_state_0.pt): the resumed run generates a new rollout now, so it will not match an "
        "uninterrupted run"
    ) in " ".join(inexact.stderr.split())
    assert [r["step"] for r in pq.read_table(old / "rollouts.parquet").to_pylist()][-8:] == [7] * 8
    resumed = invoke("train", "--output", str(tmp_path / "cut"), "--resume", "--save-steps", "5")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["resumed_from"].endswith("checkpoint-6")
    weights_2, metrics_2, rollouts_2 = run_outputs(tmp_path / "cut")
    assert [r["step"] for r in rollouts_2] == [1] * 8 + [5] * 8 + [9] * 8  # no rollout generated twice
    assert rollouts_2 == rollouts
    assert metrics_2 == metrics
    assert sorted(weights_2) == sorted(weights)
    assert all(torch.equal(weights_2[k], weights[k]) for k in weights)
