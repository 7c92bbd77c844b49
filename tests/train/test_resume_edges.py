"""#17 exact resume, its edges: a --save-steps changed on --resume takes effect; a --max-steps below the last
checkpoint is refused, and one at it ends the run there with that checkpoint (the Trainer would train one step
past it); a resume that waited for the run-folder lock finds the run finished by the one it waited for, and
trains nothing."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import Result
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.train import core

from .test_advantages import two_prompt_table

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, [*args, "--json"])


def train(tmp_path: Path, run: Path, max_steps: int, save_steps: int) -> None:
    data = two_prompt_table(tmp_path / "q.parquet")
    result = invoke(
        "train", "--data", str(data), "--max-steps", str(max_steps), "--save-steps", str(save_steps),
        "--batch-size", "4", "--max-completion-length", "4", "--output", str(run),
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def saved(run: Path) -> list[str]:
    return sorted((p.name for p in (run / "checkpoints").glob("checkpoint-*")), key=lambda n: int(n.split("-")[1]))


def unfinish(run: Path, aside: Path) -> None:
    """Make `run` look killed after its last checkpoint: its manifest and model moved to `aside`."""
    aside.mkdir()
    for name in ("manifest.json", "model"):
        shutil.move(run / name, aside / name)


def test_save_steps_changed_on_resume_sets_the_new_checkpoints(tmp_path):
    run = tmp_path / "ss"
    train(tmp_path, run, max_steps=2, save_steps=2)
    resumed = invoke(
        "train", "--output", str(run), "--resume", "--max-steps", "5", "--save-steps", "1", "--logging-steps", "2"
    )
    assert resumed.exit_code == 0, resumed.output
    assert "--resume: --save-steps 1 overrides the saved 2" in resumed.stderr
    # every step from the resume on, not the saved interval (which would leave checkpoint-2, -4, -5)
    assert saved(run) == ["checkpoint-2", "checkpoint-3", "checkpoint-4", "checkpoint-5"]
    state = json.loads((run / "checkpoints" / "checkpoint-5" / "trainer_state.json").read_text())
    assert (state["global_step"], state["save_steps"], state["logging_steps"]) == (5, 1, 2)
    # --logging-steps too: a metrics row every 2 steps after the resume (the saved 1 would log steps 3 and 5)
    assert [m["step"] for m in pq.read_table(run / "metrics.parquet").to_pylist()] == [1, 2, 4]


def test_max_steps_below_the_last_checkpoint_is_refused_and_at_it_ends_the_run_there(tmp_path):
    run = tmp_path / "r"
    train(tmp_path, run, max_steps=3, save_steps=2)
    unfinish(run, tmp_path / "aside")
    shutil.rmtree(run / "checkpoints" / "checkpoint-3")  # killed at step 3, after checkpoint-2
    config_before = (run / "config.json").read_text()
    refused = invoke("train", "--output", str(run), "--resume", "--max-steps", "1")
    assert refused.exit_code == 1, refused.output
    assert str(refused.exception) == (
        f"--resume: {run / 'checkpoints' / 'checkpoint-2'} is already at step 2, past --max-steps 1; "
        "pass --max-steps 2 to end the run there, or more to continue it"
    )
    # nothing trained, nothing written (before: the step-2 model was written as the run's, asked for 1 step)
    assert saved(run) == ["checkpoint-2"] and not (run / "manifest.json").exists()
    assert not (run / "model").exists() and not (run / "resume_overrides.jsonl").exists()
    assert (run / "config.json").read_text() == config_before
    # at the checkpoint's own step: no step trained, the run ends there with its model (as the Trainer does)
    ended = invoke("train", "--output", str(run), "--resume", "--max-steps", "2")
    assert ended.exit_code == 0, ended.output
    summary = json.loads(ended.stdout.strip().splitlines()[-1])
    # the counts are the whole run's (its two steps' rollouts kept in the run folder), none generated now
    assert (summary["steps"], summary["completions"]) == (2, 8)
    assert saved(run) == ["checkpoint-2"] and (run / "model").is_dir()


def test_a_run_killed_after_its_last_checkpoint_ends_there_with_that_checkpoints_weights(tmp_path):
    """Killed while writing its model: the resume trained a step past --max-steps (steps 4 of 3, checkpoint-4,
    a model that was not the run's), because the Trainer checks the step count only after a step."""
    from safetensors.torch import load_file

    run, aside = tmp_path / "r", tmp_path / "aside"
    train(tmp_path, run, max_steps=3, save_steps=1)
    unfinish(run, aside)
    resumed = invoke("train", "--output", str(run), "--resume")
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert (summary["steps"], summary["completions"], summary["resumed_from"]) == (
        3, 12, str(run / "checkpoints" / "checkpoint-3")
    )  # fmt: skip
    assert saved(run) == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    written, trained = load_file(run / "model" / "model.safetensors"), load_file(aside / "model" / "model.safetensors")
    assert written.keys() == trained.keys() and all(bool((written[k] == trained[k]).all()) for k in written)
    assert [m["step"] for m in pq.read_table(run / "metrics.parquet").to_pylist()] == [1, 2, 3]
    assert json.loads((run / "manifest.json").read_text())["steps"] == 3


def test_a_lower_max_steps_at_a_checkpoint_trims_the_logs_of_the_steps_after_it(tmp_path):
    run = tmp_path / "r"
    train(tmp_path, run, max_steps=3, save_steps=1)
    unfinish(run, tmp_path / "aside")
    for step in (2, 3):  # killed after steps 2 and 3 were logged, their checkpoints lost
        shutil.rmtree(run / "checkpoints" / f"checkpoint-{step}")
    ended = invoke("train", "--output", str(run), "--resume", "--max-steps", "1")
    assert ended.exit_code == 0, ended.output
    summary = json.loads(ended.stdout.strip().splitlines()[-1])
    assert (summary["steps"], summary["completions"]) == (1, 4)  # was (2, 8): one more step trained
    assert saved(run) == ["checkpoint-1"]
    assert [m["step"] for m in pq.read_table(run / "metrics.parquet").to_pylist()] == [1]
    assert sorted({r["step"] for r in pq.read_table(run / "rollouts.parquet").to_pylist()}) == [1]


def test_a_resume_that_waited_for_the_lock_trains_nothing_on_the_run_finished_meanwhile(tmp_path, monkeypatch):
    run, aside = tmp_path / "r", tmp_path / "aside"
    train(tmp_path, run, max_steps=2, save_steps=1)
    unfinish(run, aside)
    shutil.move(run / "checkpoints" / "checkpoint-2", aside / "checkpoint-2")  # killed at step 1 of 2
    lock = core._run_lock

    @contextlib.contextmanager
    def other_resume_finishes_first(run_dir: Path) -> Iterator[None]:
        # the first `--resume` held the lock and finished the run: step 2, its checkpoint, manifest and model
        for name in ("manifest.json", "model"):
            shutil.move(aside / name, run / name)
        shutil.move(aside / "checkpoint-2", run / "checkpoints" / "checkpoint-2")
        with lock(run_dir):
            yield

    monkeypatch.setattr(core, "_run_lock", other_resume_finishes_first)
    second = invoke("train", "--output", str(run), "--resume")
    assert second.exit_code == 0, second.output
    assert f"--resume: {run} already finished at step 2; nothing to train" in second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1])["steps"] == 2
    assert saved(run) == ["checkpoint-1", "checkpoint-2"]


def test_a_run_started_with_relative_paths_resumes_from_another_directory(tmp_path, monkeypatch):
    """config.json kept `--data q.parquet` as typed: a `--resume` from elsewhere looked for ./q.parquet, and the
    `--data` its error suggested was refused as contradicting the run (paths compared as strings)."""
    work = tmp_path / "work"
    work.mkdir()
    two_prompt_table(work / "q.parquet")
    monkeypatch.chdir(work)
    started = invoke(
        "train", "--data", "q.parquet", "--max-steps", "2", "--save-steps", "1",
        "--batch-size", "4", "--max-completion-length", "4", "--output", "r",
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    run = work / "r"
    assert json.loads((run / "config.json").read_text())["data"] == str(work / "q.parquet")
    unfinish(run, tmp_path / "aside")
    shutil.rmtree(run / "checkpoints" / "checkpoint-2")
    monkeypatch.chdir(tmp_path)
    resumed = invoke("train", "--output", str(run), "--resume", "--data", "work/./q.parquet")  # the same table
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["steps"] == 2
    assert "overrides the saved" not in resumed.stderr


@pytest.mark.parametrize("algo", ["rloo", "grpo", "reinforce++"])
@pytest.mark.parametrize("recipe", [None, "paper"])
def test_an_unset_kl_form_is_read_as_the_form_the_trainer_uses(tmp_path, algo, recipe):
    """`--resume --kl-form X` is no contradiction when X is what the unset run uses; rloo under --recipe paper
    keeps TRL's RLOO (it was read as openrlhf: `--kl-form trl` refused, `--kl-form openrlhf` let through)."""
    from rlev_cli.train.build import trl_config_for
    from rlev_cli.train.config import TrainConfig, kl_form_in_use
    from rlev_cli.train.trainers import OpenRLHFRLOOTrainer

    config = TrainConfig(algo=algo, recipe=recipe, rollout_prompts=2 if recipe else None)
    _, trainer, extra = trl_config_for(config, tmp_path, cuda=False)
    placed = "openrlhf" if trainer is OpenRLHFRLOOTrainer or extra.get("kl_in_reward") else "trl"
    assert kl_form_in_use(None, algo, recipe) == placed
