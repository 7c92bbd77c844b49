"""#18 item 2: commands that write a workspace's shared files hold its lock (flock on WORKSPACE/.rlev.lock);
a second writer fails at once naming the holder; a killed holder releases it; readers never see a mix.
Every test runs the second party as a real process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from tests.conftest import EXAMS, REPO

OTHER = EXAMS / "ksat_ai_benchmark"  # 46 questions, 4 exams
LOCKED = re.compile(
    r"Error: (?P<ws>\S+) is locked by `(?P<command>[^`]+)` \(pid (?P<pid>\d+), since "
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\), which is writing its files; wait for it to finish, or use another --workspace"
)


def rlev(*args, cwd=None) -> subprocess.CompletedProcess[str]:
    """`rlev ARGS...` in its own process (the user's second terminal)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "rlev_cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd
    )


def holder(code: str) -> subprocess.Popen[str]:
    """A process that runs `code` (which takes a lock), prints `ready` and then waits to be killed."""
    script = textwrap.dedent(code) + "\nprint('ready', flush=True)\nimport time\ntime.sleep(120)\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_predict_values_during_an_ingest_is_refused_naming_the_ingest(ingested, workspace, monkeypatch):
    """The holder is a real `rlev ingest` (this process), stopped while it holds the lock."""
    import rlev_cli.ingest.splits as splits

    seen = []
    real = splits.split_questions

    def split_while_another_writer_comes(*args, **kwargs):
        seen.append(rlev("predict-values"))
        return real(*args, **kwargs)

    monkeypatch.setattr(splits, "split_questions", split_while_another_writer_comes)
    before = pq.read_table(workspace / "questions.parquet")
    result = CliRunner().invoke(app, ["ingest", str(OTHER)])
    assert result.exit_code == 0, result.output
    [second] = seen
    assert second.returncode == 1 and second.stdout == ""
    match = LOCKED.fullmatch(second.stderr.strip())
    assert match, second.stderr
    assert (match["ws"], match["command"], int(match["pid"])) == (str(workspace), "rlev ingest", os.getpid())
    # the ingest's set is whole: 46 questions in the table and in the manifest, none labelled
    after = pq.read_table(workspace / "questions.parquet")
    manifest = json.loads((workspace / "manifest.json").read_text())
    assert after.num_rows == manifest["counts"]["questions"] == 46 != before.num_rows
    assert "value_pred" not in after.column_names
    # the lock is free again, and says nobody holds it
    assert (workspace / ".rlev.lock").read_text() == ""


def test_an_ingest_during_predict_values_is_refused_and_the_set_stays_whole(ingested, workspace, monkeypatch):
    """#18: predict-values during an ingest left the old 110 rows (with predictions) beside a manifest of the new
    22. predict-values now holds the lock from reading the table to writing it: the ingest is refused."""
    import rlev_cli.values.core as values

    seen = []

    def fit_while_another_writer_comes(frame, truth, config):
        seen.append(rlev("ingest", OTHER))
        return np.full(len(frame), 0.25), {}, {"pipeline": None, "target": "value", "model": "ridge"}

    monkeypatch.setattr(values, "fit_and_report", fit_while_another_writer_comes)
    writer = lambda model, report: lambda path: path.write_bytes(b"model")  # noqa: E731
    monkeypatch.setattr(values, "model_writer", writer, raising=False)  # skops is not what this tests
    n_before = pq.read_metadata(workspace / "questions.parquet").num_rows
    result = CliRunner().invoke(app, ["predict-values"])
    assert result.exit_code == 0, result.output
    [second] = seen
    match = LOCKED.fullmatch(second.stderr.strip())
    assert second.returncode == 1 and match, second.stderr
    assert (match["command"], int(match["pid"])) == ("rlev predict-values", os.getpid())
    table = pq.read_table(workspace / "questions.parquet")
    manifest = json.loads((workspace / "manifest.json").read_text())
    assert table.num_rows == manifest["counts"]["questions"] == n_before
    assert set(table["value_pred"].to_pylist()) == {0.25}


def test_a_killed_holder_releases_the_lock_and_its_staging_file_is_removed(workspace):
    """kill -9 an ingest while it stages questions.parquet: the OS drops the lock, and the next ingest
    removes the orphaned .part file (one warning) and writes its set."""
    staging = holder(
        f"""
        from pathlib import Path
        from rlev_cli.workspace import workspace_lock, write_set
        with workspace_lock(Path({str(workspace)!r}), "rlev ingest"):
            def stop_half_way(path):
                path.write_bytes(b"PAR1 half a table")
                print("ready", flush=True)
                import time
                time.sleep(120)
            write_set(Path({str(workspace)!r}), {{"questions.parquet": stop_half_way}})
        """
    )
    [part] = workspace.glob(".questions.parquet.*.part")
    refused = rlev("ingest", OTHER)
    assert refused.returncode == 1
    assert LOCKED.fullmatch(refused.stderr.strip())["pid"] == str(staging.pid)
    staging.send_signal(signal.SIGKILL)
    staging.wait()
    result = rlev("ingest", OTHER)
    assert result.returncode == 0, result.stderr
    assert f"{workspace}: removed 1 staging file(s) left by an interrupted write ({part.name})" in " ".join(
        result.stderr.split()
    )
    assert sorted(p.name for p in workspace.iterdir()) == [
        ".rlev.lock",
        "manifest.json",
        "questions.parquet",
        "rejects.parquet",
    ]


def test_a_waiting_writer_says_whom_it_waits_for(tmp_path, capsys):
    """wait=True (the shared tiny model's build) waits for the holder instead of failing, and says so once."""
    folder = tmp_path / "models"
    process = holder(
        f"""
        from pathlib import Path
        from rlev_cli.workspace import workspace_lock
        lock = workspace_lock(Path({str(folder)!r}), "build the tiny model tiny-seed0")
        lock.__enter__()
        """
    )
    import threading

    from rlev_cli.workspace import workspace_lock

    threading.Timer(0.5, process.kill).start()
    with workspace_lock(folder, "build the tiny model tiny-seed0", wait=True):
        assert process.poll() is not None  # only after the holder is gone
    message = " ".join(capsys.readouterr().err.split())
    assert re.fullmatch(
        rf"Warning: waiting for {re.escape(str(folder))}: locked by `build the tiny model tiny-seed0` "
        rf"\(pid {process.pid}, since [0-9: -]+\)",
        message,
    ), message


def lock_holder(folder, command: str) -> subprocess.Popen[str]:
    """Another process holding FOLDER's lock as COMMAND (a user's other terminal, mid-run)."""
    return holder(
        f"""
        from pathlib import Path
        from rlev_cli.workspace import workspace_lock
        held = workspace_lock(Path({str(folder)!r}), {command!r})
        held.__enter__()
        """
    )


def refused_by(folder, process: subprocess.Popen[str], command: str, elsewhere: str) -> str:
    return (
        f"{folder} is locked by `{command}` (pid {process.pid}, since {_since(folder)}), which is writing its "
        f"files; wait for it to finish, or use {elsewhere}"
    )


def _since(folder) -> str:
    return json.loads((folder / ".rlev.lock").read_text())["since"]


def test_a_second_trainer_on_one_run_folder_is_refused_and_trains_nothing(tmp_path):
    """Two `rlev train --resume` on one run would both train from its last checkpoint and overwrite each
    other's; the second is one Error line naming the first, and the run folder is left as it was."""
    from tests.train.test_advantages import two_prompt_table

    data, run = two_prompt_table(tmp_path / "q.parquet"), tmp_path / "run"
    train = ["train", "--max-completion-length", "4", "--batch-size", "8", "--kl-coef", "0", "--save-steps", "1"]
    first = CliRunner().invoke(app, [*train, "--data", str(data), "--max-steps", "1", "--output", str(run)])
    assert first.exit_code == 0, first.output
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    training = lock_holder(run, "rlev train")
    try:
        second = CliRunner().invoke(app, ["train", "--output", str(run), "--resume", "--max-steps", "2"])
        assert second.exit_code == 1
        assert str(second.exception) == refused_by(run, training, "rlev train", "another --output")
        assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before  # no checkpoint-2
        # the same --output for a new run (a new folder, claimed by the other process) is refused, not removed
        claimed = tmp_path / "claimed"
        other = lock_holder(claimed, "rlev train")
        try:
            new = CliRunner().invoke(app, [*train, "--data", str(data), "--max-steps", "1", "--output", str(claimed)])
            assert new.exit_code == 1
            assert str(new.exception) == refused_by(claimed, other, "rlev train", "another --output")
            assert claimed.is_dir()
        finally:
            other.kill()
            other.wait()
    finally:
        training.kill()
        training.wait()
    resumed = CliRunner().invoke(app, ["train", "--output", str(run), "--resume", "--max-steps", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert (run / "checkpoints" / "checkpoint-2").is_dir()


def test_a_second_evaluation_into_one_folder_is_refused_and_writes_nothing(tmp_path):
    """Two `rlev evaluate --out E` would append to the same partial files and overwrite each other's tables."""
    questions, responses, out_dir = tmp_path / "q.parquet", tmp_path / "r.jsonl", tmp_path / "e"
    from tests.evaluate.test_generation import _questions

    _questions(questions, with_prompts=False)
    responses.write_text(
        "".join(
            json.dumps({"benchmark": "indomain", "id": f"q{k}", "response": f"the answer is {k}"}) + "\n"
            for k in range(4)
        )
    )
    args = ["evaluate", "--responses", str(responses), "--data", str(questions), "--out", str(out_dir)]
    evaluating = lock_holder(out_dir, "rlev evaluate")
    try:
        refused = CliRunner().invoke(app, args)
        assert refused.exit_code == 1
        assert str(refused.exception) == refused_by(out_dir, evaluating, "rlev evaluate", "another --out")
        assert sorted(p.name for p in out_dir.iterdir()) == [".rlev.lock"]
    finally:
        evaluating.kill()
        evaluating.wait()
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (out_dir / "predictions.parquet").exists()
