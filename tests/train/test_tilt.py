"""ValueTiltCallback inside a real `rlev train` trainer: the log column carries the measured tilt."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import torch

from rlev_cli.train.gradients import ProbeBatch
from rlev_cli.train.tilt import ValueTiltCallback


def test_callback_logs_the_tilt_into_metrics_parquet(tmp_path, workspace, ingested, tiny_model_dir):
    from rlev_cli.train.build import build_trainer
    from rlev_cli.train.config import TrainConfig
    from rlev_cli.train.data import load_train_rows

    config = TrainConfig(
        model=str(tiny_model_dir),
        max_steps=3,
        batch_size=4,
        num_generations=2,
        max_completion_length=4,
        kl_coef=0.0,
        learning_rate=1e-3,
        save_steps=100,
        workspace=workspace,
    )
    run_dir = tmp_path / "run"
    trainer, _ = build_trainer(config, ingested, str(tiny_model_dir), run_dir)
    rows = load_train_rows(ingested, "value").rows
    callback = ValueTiltCallback(trainer, trainer.reward_funcs[0], {r["id"]: r["value"] for r in rows}, config, every=1)
    # A fixed batch with known grades: 10 prompts x 2, one right and one wrong each; the 2 lowest-valued
    # prompts (v = 0) are bottom20 with s = 1, the 2 highest (v = 0.5) top20 with s = 2.
    values = [0.0, 0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.5, 0.5]
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 200, (20, 8), generator=gen)
    completion = torch.zeros(20, 8, dtype=torch.long)
    completion[:, 5:] = 1
    per_sample = [v for v in values for _ in range(2)]
    callback.batch = ProbeBatch(ids, torch.ones_like(ids), completion, per_sample, [True, False] * 10, 2)
    callback.seen_values = per_sample
    trainer.add_callback(callback)
    trainer.train()
    metrics = pq.read_table(run_dir / "metrics.parquet").to_pylist()
    logged = [m for m in metrics if m.get("value_tilt/vs_correctness") is not None]
    assert [m["step"] for m in logged] == [1, 2, 3]  # every step logs the column, the last one too
    # RLOO advantages are linear in s: top20 prompts get exactly 2x, bottom20 1x
    assert all(m["value_tilt/vs_correctness"] == pytest.approx(2.0, rel=1e-4) for m in logged)
    assert all(m["value_tilt/grad_norm_top20"] > 0 for m in logged)


def test_train_flag_logs_the_tilt_column(workspace, ingested, tiny_model_dir):
    from typer.testing import CliRunner

    from rlev_cli.cli import app

    args = ["train", "--model", str(tiny_model_dir), "--max-steps", "2", "--batch-size", "4", "--num-generations", "2"]
    args += ["--max-completion-length", "4", "--value-tilt-steps", "2", "--output", str(workspace / "runs" / "t")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = pq.read_table(workspace / "runs" / "t" / "metrics.parquet").to_pylist()
    # the untrained tiny model answers everything wrong: norms are logged, the ratio (0/0) is not
    assert [m["step"] for m in metrics if m.get("value_tilt/grad_norm_top20") is not None] == [2]
    assert all(m.get("value_tilt/grad_ratio_top_bottom") is None for m in metrics)
