"""End-to-end runs of `rlev train` on the tiny model: outputs, resume after a kill, two processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.train.core import checkpoints

from .test_advantages import fixed_correctness, two_prompt_table  # noqa: F401  (fixture)
from .test_resume import recipe_args, recipe_run, run_outputs

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
@pytest.mark.usefixtures("fixed_correctness")
def test_killed_run_resumes_exactly(tmp_path, tiny_model_dir):
    """A --recipe paper run SIGKILLed right after its checkpoint at step 6 (inside its second rollout; a
    checkpoint-7 cut short by the kill beside it) resumes and ends bit for bit where the run that was never
    killed ends: weights, metrics, rollouts. Rewards are not 0 and the weights move."""
    from safetensors.torch import load_file

    data = two_prompt_table(tmp_path / "q.parquet")
    whole = recipe_run(data, tiny_model_dir, tmp_path / "whole", "--save-steps", "4")
    assert whole.exit_code == 0, whole.output
    weights, metrics, rollouts = run_outputs(tmp_path / "whole")
    start = load_file(next(tiny_model_dir.glob("*.safetensors")))
    assert max((weights[k] - start[k]).abs().max().item() for k in start) > 1e-3
    assert min(abs(r["advantage"]) for r in rollouts) > 0

    run = tmp_path / "run"
    args = recipe_args(data, tiny_model_dir, run, "--save-steps", "1")
    killed = subprocess.run(
        [sys.executable, "-m", "tests.train.killed_run", "6", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],  # where python -m finds tests/ (and this checkout's rlev_cli)
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    complete, _ = checkpoints(run)
    assert [p.name for p in complete] == [f"checkpoint-{n}" for n in range(1, 7)]
    assert not (run / "model").exists() and not (run / "manifest.json").exists()
    # The kill may land while a checkpoint is being written; make sure one such folder is there.
    cut_short = run / "checkpoints" / "checkpoint-7"
    cut_short.mkdir()
    (cut_short / "config.json").write_text("{}")
    result = runner.invoke(app, ["train", "--output", str(run), "--resume", "--save-steps", "10", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 12 and summary["resumed_from"].endswith("checkpoint-6")
    assert "checkpoint-7 was cut short while saving" in result.stderr
    weights_2, metrics_2, rollouts_2 = run_outputs(run)
    assert [r["step"] for r in rollouts_2] == [1] * 8 + [5] * 8 + [9] * 8  # nothing generated twice
    assert rollouts_2 == rollouts
    assert [m["step"] for m in metrics_2] == list(range(1, 13)) and metrics_2 == metrics
    assert all(torch.equal(weights_2[k], weights[k]) for k in weights)


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
