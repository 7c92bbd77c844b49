"""#18 item 7: a run folder that lost its weights is one Error line for every command that loads it, and
nothing is written through a symbolic link planted inside a run folder."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.schema import PREDICTIONS
from tests.conftest import OOD

from .test_advantages import two_prompt_table

runner = CliRunner()
TRAIN = ["--max-completion-length", "4", "--batch-size", "8", "--kl-coef", "0", "--save-steps", "1"]


def test_resume_refuses_a_planted_link_and_a_checkpoint_without_weights(tmp_path):
    data = two_prompt_table(tmp_path / "q.parquet")
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--data", str(data), "--max-steps", "1", *TRAIN, "--output", str(run)])
    assert trained.exit_code == 0, trained.output

    # TRL writes its model card to checkpoints/README.md at every save: a link there led outside the run
    outside = tmp_path / "notes.txt"
    outside.write_text("my notes\n")
    card = run / "checkpoints" / "README.md"
    card.unlink()
    card.symlink_to(outside)
    linked = runner.invoke(app, ["train", "--output", str(run), "--resume", "--max-steps", "2"])
    assert linked.exit_code == 1
    assert str(linked.exception) == (
        f"{card} is a symbolic link (to {outside}); rlev never writes through a link inside {run}: remove it "
        "(to keep checkpoints on another disk, put the whole --output there)"
    )
    assert outside.read_text() == "my notes\n"
    assert not (run / "checkpoints" / "checkpoint-2").exists()
    card.unlink()

    # the last checkpoint lost its weights (a quota cleaner, a copy cut short): one line, not a traceback
    (run / "checkpoints" / "checkpoint-1" / "model.safetensors").unlink()
    lost = runner.invoke(app, ["train", "--output", str(run), "--resume", "--max-steps", "2"])
    assert lost.exit_code == 1
    assert str(lost.exception) == (
        f"{run / 'checkpoints' / 'checkpoint-1'}: no model weights (model.safetensors, model.safetensors.index.json, "
        "pytorch_model.bin or another); remove that folder to resume from the checkpoint before it (or from the "
        "start)"
    )


def finished_run(tmp_path, tiny_model_dir):
    """A run folder as `rlev train` leaves it, with in-domain predictions (for analyze)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "model")
    (run / "config.json").write_text(json.dumps({"algo": "rloo", "reward": "rlev"}))
    row = {"model": "rloo/rlev", "benchmark": "indomain", "id": "q", "prompt": "1 + 1?", "response": "2", "value": 0.1}
    (run / "eval").mkdir()
    pq.write_table(pa.Table.from_pylist([row], schema=PREDICTIONS), run / "eval" / "predictions.parquet")
    return run


def test_evaluate_and_analyze_refuse_a_run_without_weights(tmp_path, tiny_model_dir):
    run = finished_run(tmp_path, tiny_model_dir)
    (run / "model" / "model.safetensors").unlink()
    missing = (
        f"{run / 'model'}: no model weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
        "another); its model was not saved whole; train it again"
    )
    evaluated = runner.invoke(app, ["evaluate", str(run), "--benchmarks", "mmlu_pro", "--data-dir", str(OOD)])
    assert evaluated.exit_code == 1
    assert str(evaluated.exception) == f"{missing} (or evaluate another run)"
    analyzed = runner.invoke(app, ["analyze", "termination", str(run)])
    assert analyzed.exit_code == 1
    assert str(analyzed.exception) == f"{missing} (or pass another run)"


def test_a_sharded_model_with_a_shard_missing_is_one_line(tmp_path, tiny_model_dir):
    run = finished_run(tmp_path, tiny_model_dir)
    model = run / "model"
    (model / "model.safetensors").rename(model / "model-00001-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    result = runner.invoke(app, ["analyze", "termination", str(run)])
    assert str(result.exception) == (
        f"{model}: weights shard(s) model-00002-of-00002.safetensors missing; its model was not saved whole; "
        "train it again (or pass another run)"
    )


def test_evaluate_refuses_a_link_in_the_runs_eval_folder(tmp_path, tiny_model_dir):
    """Responses are appended to RUN/eval/.partial/: a link planted there sent them to another folder."""
    run = finished_run(tmp_path, tiny_model_dir)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (run / "eval" / ".partial").symlink_to(outside, target_is_directory=True)
    result = runner.invoke(
        app, ["evaluate", str(run), "--benchmarks", "mmlu_pro", "--data-dir", str(OOD), "--limit", "1"]
    )
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"{run / 'eval' / '.partial'} is a symbolic link (to {outside}); rlev never writes through a link inside "
        f"{run / 'eval'}: remove it"
    )
    assert list(outside.iterdir()) == []


def test_two_runs_started_in_the_same_second_get_their_own_folders(workspace, monkeypatch):
    """The folder of a new run is claimed by an atomic mkdir: two `rlev train` started in the same second
    (same algorithm and reward) each get one (the name used to be chosen by `exists()` and shared)."""
    import time

    from rlev_cli.train.config import TrainConfig
    from rlev_cli.train.core import resolve_run_dir

    monkeypatch.setattr(time, "strftime", lambda fmt, *args: "20261202-180000")
    config = TrainConfig(workspace=workspace, algo="grpo", reward="rlev")
    first, second = resolve_run_dir(config), resolve_run_dir(config)
    assert (first.name, second.name) == ("20261202-180000-grpo-rlev", "20261202-180000-grpo-rlev-2")
    assert first.is_dir() and second.is_dir()
