"""#18 item 1: a run's data is fixed when it starts. The hash and ids come from the bytes the prompts were
parsed from; --resume on a re-ingested table is refused naming both hashes; --allow-new-data opens a second
data segment, train_ids.parquet keeps the union, and evaluate's leakage check sees both segments."""

from __future__ import annotations

import hashlib
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.runs import question_sha
from rlev_cli.schema import QUESTIONS, write_table

from .test_advantages import two_prompt_table

runner = CliRunner()
TRAIN = ["--max-completion-length", "4", "--batch-size", "8", "--kl-coef", "0", "--save-steps", "1"]


def reingested(path, ids=("new-a", "new-b")):
    """The table after a re-ingest of other papers: two other train questions."""
    rows = pq.read_table(path).to_pylist()
    for row, new in zip(rows, ids, strict=True):
        row.update(id=new, question=f"Question {new}?", answer=new)
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")
    return path


def interrupted_after_first_checkpoint(monkeypatch, data, run):
    """`rlev train --max-steps 2` stopped by Ctrl-C right after checkpoint-1 is saved (what a kill leaves)."""
    from transformers import TrainerCallback

    import rlev_cli.train.build as build

    real = build.build_trainer

    class StopAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    def build_then_stop(*args, **kwargs):
        trainer, info = real(*args, **kwargs)
        trainer.add_callback(StopAfterSave())
        return trainer, info

    with monkeypatch.context() as patch:
        patch.setattr(build, "build_trainer", build_then_stop)
        result = runner.invoke(app, ["train", "--data", str(data), "--max-steps", "2", *TRAIN, "--output", str(run)])
    assert result.exit_code == 130, result.output
    assert (run / "checkpoints" / "checkpoint-1" / "trainer_state.json").exists()
    assert not (run / "manifest.json").exists()
    return result


def test_resume_on_a_reingested_table_is_refused_or_a_new_segment(tmp_path, monkeypatch):
    data = two_prompt_table(tmp_path / "q.parquet")
    first_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    run = tmp_path / "run"
    stopped = interrupted_after_first_checkpoint(monkeypatch, data, run)
    assert stopped.stderr.strip().splitlines()[-1] == (
        f"Error: interrupted; continue from the last checkpoint with: rlev train --output {run} --resume"
    )
    # fixed before the first step: a killed run says which table it was on
    assert json.loads((run / "provenance.json").read_text())["data_segments"][0] == {
        "data": str(data),
        "sha256": first_sha,
        "from_step": 0,
        "n_ids": 2,
        "recorded": json.loads((run / "provenance.json").read_text())["data_segments"][0]["recorded"],
    }
    reingested(data)
    new_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    refused = runner.invoke(app, ["train", "--output", str(run), "--resume"])
    assert refused.exit_code == 1
    assert str(refused.exception) == (
        f"--resume: {data} is not the table {run} trained on (SHA-256 {new_sha}, the run's {first_sha} in "
        f"{run / 'provenance.json'}); resume on the table the run started from, or pass --allow-new-data to "
        "continue on this one (recorded as a new data segment)"
    )
    assert not (run / "checkpoints" / "checkpoint-2").exists()

    accepted = runner.invoke(app, ["train", "--output", str(run), "--resume", "--allow-new-data"])
    assert accepted.exit_code == 0, accepted.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["steps"] == 2
    assert manifest["data_sha256"] == first_sha
    assert [(s["sha256"], s["from_step"], s["n_ids"]) for s in manifest["data_segments"]] == [
        (first_sha, 0, 2),
        (new_sha, 1, 2),
    ]
    assert manifest["train_ids"] == {"path": "train_ids.parquet", "n": 4}
    assert pq.read_table(run / "train_ids.parquet").to_pylist() == [
        {"id": "high", "question_sha256": question_sha("Question high?"), "segment": 0},
        {"id": "low", "question_sha256": question_sha("Question low?"), "segment": 0},
        {"id": "new-a", "question_sha256": question_sha("Question new-a?"), "segment": 1},
        {"id": "new-b", "question_sha256": question_sha("Question new-b?"), "segment": 1},
    ]

    # evaluate refuses items of either segment: one of the first table's, one of the second's
    rows = pq.read_table(data).to_pylist()
    rows[0].update(id="high", question="Question high?", answer="high")
    for row in rows:
        row["split"] = "test"
    mixed = tmp_path / "mixed.parquet"
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), mixed, "questions")
    leaked = runner.invoke(app, ["evaluate", str(run), "--data", str(mixed), "--max-new-tokens", "2"])
    assert leaked.exit_code == 1
    assert str(leaked.exception).startswith(
        f"{run}: 2 of 2 evaluated item(s) were in this run's training data (high, new-b); "
    )


def test_allow_new_data_resumes_on_a_table_at_another_path(tmp_path, monkeypatch):
    """--allow-new-data with --data: the new table may live elsewhere (it was refused as a contradicting
    --data, so a new segment could only come from new bytes at the run's first path)."""
    data = two_prompt_table(tmp_path / "q.parquet")
    first_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    run = tmp_path / "run"
    interrupted_after_first_checkpoint(monkeypatch, data, run)
    other = two_prompt_table(tmp_path / "other.parquet")
    reingested(other)
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()
    refused = runner.invoke(app, ["train", "--output", str(run), "--resume", "--data", str(other)])
    assert refused.exit_code == 1
    assert str(refused.exception).startswith(f"--data {other} contradicts the run being resumed (data = {data} in ")
    assert str(refused.exception).endswith("may change (data with --allow-new-data))")
    accepted = runner.invoke(app, ["train", "--output", str(run), "--resume", "--data", str(other), "--allow-new-data"])
    assert accepted.exit_code == 0, accepted.output
    assert f"--resume: --data {other} overrides the saved {data}" in accepted.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["steps"] == 2
    assert [(s["data"], s["sha256"], s["from_step"]) for s in manifest["data_segments"]] == [
        (str(data), first_sha, 0),
        (str(other), other_sha, 1),
    ]
    assert json.loads((run / "config.json").read_text())["data"] == str(other)  # a later --resume reads it
    assert [r["id"] for r in pq.read_table(run / "train_ids.parquet").to_pylist()] == ["high", "low", "new-a", "new-b"]


def test_the_recorded_hash_is_the_table_read_not_the_file_at_the_end(tmp_path, monkeypatch):
    """A table rewritten on disk while the run trains leaves the run's record on the table it read."""
    import rlev_cli.train.build as build

    data = two_prompt_table(tmp_path / "q.parquet")
    read_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    real = build.build_trainer

    def build_then_reingest(*args, **kwargs):
        built = real(*args, **kwargs)
        reingested(data)  # an ingest into the same workspace while the run trains
        return built

    monkeypatch.setattr(build, "build_trainer", build_then_reingest)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--data", str(data), "--max-steps", "1", *TRAIN, "--output", str(run)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert hashlib.sha256(data.read_bytes()).hexdigest() != read_sha
    assert manifest["data_sha256"] == read_sha
    assert [s["sha256"] for s in manifest["data_segments"]] == [read_sha]
    assert sorted(pq.read_table(run / "train_ids.parquet")["id"].to_pylist()) == ["high", "low"]


def test_ctrl_c_before_the_run_folder_exists_offers_no_resume(tmp_path, monkeypatch, workspace):
    """An older run in the workspace is not the one to resume when this one had not started."""
    import rlev_cli.train.core as core

    older = workspace / "runs" / "older"
    older.mkdir(parents=True)
    (older / "config.json").write_text("{}")
    os.utime(older / "config.json", (0, 0))

    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "prepare", interrupted)
    result = runner.invoke(app, ["train", "--data", str(two_prompt_table(tmp_path / "q.parquet"))])
    assert result.exit_code == 130
    assert (
        result.stderr.strip().splitlines()[-1] == "Error: interrupted; no run folder was written yet, nothing to resume"
    )


def test_allow_new_data_without_resume_is_an_error():
    from rlev_cli.errors import RlevError
    from rlev_cli.train.config import TrainConfig

    with pytest.raises(
        RlevError, match=r"^--allow-new-data goes with --resume \(a new run records the table it reads\)$"
    ):
        TrainConfig(allow_new_data=True)
    assert TrainConfig(allow_new_data=True, resume=True).allow_new_data
