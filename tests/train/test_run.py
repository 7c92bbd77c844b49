"""End-to-end runs of `rlev train` on the tiny model: outputs, resume after a kill, two processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.train.core import checkpoints

runner = CliRunner()
FAST = ["--max-completion-length", "8", "--batch-size", "8", "--learning-rate", "1e-4", "--kl-coef", "0"]


@pytest.mark.parametrize("algo", ["reinforce++", "rloo", "grpo"])
def test_train_writes_a_complete_run_folder(ingested, workspace, algo):
    result = runner.invoke(app, ["train", "--algo", algo, "--max-steps", "2", "--save-steps", "1", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    run = Path(summary["run_dir"])
    assert summary["steps"] == 2 and summary["prompts"] == 97
    assert (run / "model" / "model.safetensors").exists() and (run / "model" / "tokenizer.json").exists()
    assert sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    metrics = pq.read_table(run / "metrics.parquet").to_pylist()
    assert [m["step"] for m in metrics if "reward" in m] == [1, 2]
    rollouts = pq.read_table(run / "rollouts.parquet")
    assert rollouts.num_rows == 16 and set(rollouts.column_names) >= {
        "value",
        "reward",
        "correct",
        "length",
        "advantage",
    }
    assert json.loads((run / "config.json").read_text())["algo"] == algo
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["trl_config"]["num_generations"] == 4


def test_bad_inputs_are_one_line_before_heavy_work(workspace, tmp_path):
    result = runner.invoke(app, ["train", "--max-steps", "1"])
    assert result.exit_code == 1 and "no questions table here" in str(result.exception)
    result = runner.invoke(app, ["train", "--model", "./missing-model"])
    assert "no questions table" in str(result.exception)


def test_missing_value_column_and_model(ingested):
    result = runner.invoke(app, ["train", "--value-column", "value_pred"])
    assert result.exit_code == 1
    assert "no value column 'value_pred'" in str(result.exception)
    result = runner.invoke(app, ["train", "--model", "./missing-model"])
    assert str(result.exception) == "model path ./missing-model does not exist"
    os.environ["HF_HUB_OFFLINE"] = "1"
    result = runner.invoke(app, ["train", "--model", "Qwen/Qwen2.5-7B"])
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE=1" in str(result.exception)
    result = runner.invoke(app, ["train", "--vllm", "colocate"])
    assert "--vllm needs vLLM" in str(result.exception)


def test_resume_skips_checkpoints_cut_short(tmp_path):
    for step, state in [(2, '{"global_step": 2}'), (3, '{"global_step": 3}'), (4, '{"global_'), (5, None), (10, "{}")]:
        folder = tmp_path / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoints" / "checkpoint-last").mkdir()
    complete, partial = checkpoints(tmp_path)
    assert [p.name for p in complete] == ["checkpoint-2", "checkpoint-3", "checkpoint-10"]
    assert [p.name for p in partial] == ["checkpoint-4", "checkpoint-5"]


def _rlev(*args: str) -> list[str]:
    return [sys.executable, "-m", "rlev_cli", *args]


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_steps(ingested, workspace, tmp_path):
    run = tmp_path / "run"
    cmd = _rlev("train", "--algo", "grpo", "--max-steps", "30", "--save-steps", "1", "--output", str(run), *FAST)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while not (run / "checkpoints" / "checkpoint-3" / "trainer_state.json").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = max(
        int(p.name.split("-")[1])
        for p in (run / "checkpoints").glob("checkpoint-*")
        if (p / "trainer_state.json").exists()
    )
    assert 3 <= done < 30
    # The kill may land while a checkpoint is being written; make sure one such folder is there.
    cut_short = run / "checkpoints" / f"checkpoint-{done + 1}"
    cut_short.mkdir(exist_ok=True)
    (cut_short / "trainer_state.json").unlink(missing_ok=True)
    (cut_short / "config.json").write_text("{}")
    result = runner.invoke(
        app,
        [
            "train",
            "--algo",
            "grpo",
            "--max-steps",
            "30",
            "--save-steps",
            "10",
            "--output",
            str(run),
            "--resume",
            *FAST,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 30 and summary["resumed_from"].endswith(f"checkpoint-{done}")
    assert f"checkpoint-{done + 1} was cut short while saving" in result.stderr
    steps = pq.read_table(run / "rollouts.parquet")["step"].to_pylist()
    assert sorted(set(steps)) == list(range(1, 31))
    assert all(steps.count(s) == 8 for s in range(1, 31))  # nothing generated twice
    metric_steps = [m["step"] for m in pq.read_table(run / "metrics.parquet").to_pylist() if "reward" in m]
    assert metric_steps == list(range(1, 31))


@pytest.mark.slow
def test_two_process_data_parallel_training(ingested, workspace, tmp_path):
    run = tmp_path / "dp"
    result = subprocess.run(
        _rlev(
            "train",
            "--algo",
            "reinforce++",
            "--num-processes",
            "2",
            "--max-steps",
            "2",
            "--output",
            str(run),
            *FAST,
            "--batch-size",
            "4",
            "--json",
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2
    rollouts = pq.read_table(run / "rollouts.parquet")
    assert (run / "model" / "model.safetensors").exists()
    # Both processes' completions are gathered: 2 steps x 4 completions x 2 processes.
    assert rollouts["step"].to_pylist() == [1] * 8 + [2] * 8
    ids = rollouts["id"].to_pylist()
    for start in (0, 4, 8, 12):  # each process samples its own prompt, 4 completions of it
        assert len(set(ids[start : start + 4])) == 1
    assert ids[0] != ids[4] and ids[8] != ids[12]
