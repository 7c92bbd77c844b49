"""#9 item 6: `--recipe paper` resolves to the paper's schedule in TRL (every row of the docs' table), and
REINFORCE++ whitens over the whole rollout (4 optimizer steps), not over one step's batch."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.train.config import TrainConfig
from rlev_cli.train.recipe import PAPER_FIELDS, PAPER_TRL
from rlev_cli.train.trainers import kl_penalized_advantages

from .test_advantages import S_HIGH, S_LOW, two_prompt_table
from .test_ungraded import graded_pattern  # noqa: F401  (fixture: correct, wrong, ungraded, correct per group)

runner = CliRunner()


def test_paper_recipe_resolves_to_the_papers_schedule(tmp_path, graded_pattern):  # noqa: F811
    data = two_prompt_table(tmp_path / "q.parquet")
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        ["train", "--recipe", "paper", "--rollout-prompts", "2", "--algo", "reinforce++", "--data", str(data),
         "--max-completion-length", "4", "--output", str(run), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--recipe paper with --max-completion-length 4 (recipe: 1024)" in result.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    trl = manifest["trl_config"]
    # the rollout: 2 prompts x 4 samples = 8 completions; a train batch of a quarter of it = 4 optimizer steps
    assert (trl["num_generations"], trl["generation_batch_size"], trl["per_device_train_batch_size"]) == (4, 8, 2)
    assert trl["steps_per_generation"] == 4 and trl["gradient_accumulation_steps"] == 1
    assert manifest["steps"] == 4  # one epoch of 2 prompts = one rollout = 4 optimizer steps
    for name, value, _ in PAPER_TRL:  # cosine to 0.1 x lr, warmup 0.03, betas (0.9, 0.95), clip 0.2, norm 1.0
        assert trl[name] == value, name
    # the recipe's own settings, as TRL received them (max_completion_length is the logged deviation)
    assert (trl["learning_rate"], trl["num_train_epochs"], trl["max_steps"]) == (5e-7, 1.0, -1)
    assert (trl["beta"], trl["temperature"], trl["max_completion_length"]) == (0.01, 1.0, 4)
    assert manifest["kl_in_reward"] is True
    assert manifest["recipe"] == {
        "name": "paper",
        "rollout_prompts": 2,
        "deviations": {"max_completion_length": [1024, 4]},
    }
    config = json.loads((run / "config.json").read_text())
    assert {name: config[name] for name, _, _ in PAPER_FIELDS} == {
        name: (4 if name == "max_completion_length" else value) for name, value, _ in PAPER_FIELDS
    }
    # REINFORCE++ whitened the 8 completions of the rollout together (KL is 0 on the first rollout: the
    # policy is the reference): over the 6 graded completions' tokens, not over one step's 2 completions
    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    assert [r["step"] for r in rows] == [1] * 8  # one generation, trained on by steps 1-4
    assert graded_pattern == [8]  # graded once, as a whole rollout
    graded = [(r["reward"], r["length"]) for r in rows if r["correct"] is not None]
    n = sum(length for _, length in graded)
    mean = sum(r * length for r, length in graded) / n
    std = (sum(length * (r - mean) ** 2 for r, length in graded) / n) ** 0.5
    expected = [0.0 if r["reward"] is None else (r["reward"] - mean) / std for r in rows]
    assert [r["advantage"] for r in rows] == pytest.approx(expected, abs=1e-5)
    assert sorted({round(r["reward"], 6) for r in rows if r["correct"]}) == [S_LOW, S_HIGH]
    lr = [m["learning_rate"] for m in pq.read_table(run / "metrics.parquet").to_pylist()]
    # warmup ceil(0.03 x 4) = 1 step, then cosine to a floor of 0.1 x lr: lr x (0.1 + 0.9 x 0.5 (1 + cos(pi p)))
    # at progress p = 0, 1/3, 2/3 (without the floor the last would be 1.25e-7)
    assert lr == pytest.approx([0.0, 5e-7, 3.875e-7, 1.625e-7], rel=1e-6)


@pytest.mark.parametrize(
    "prompts,processes,accumulation,expected",
    [(128, 1, 1, (128, 4)), (128, 8, 2, (8, 8)), (16, 1, 1, (16, 4)), (2, 1, 1, (2, 4))],
)
def test_scaled_down_recipes_keep_the_ratios(prompts, processes, accumulation, expected):
    config = TrainConfig(
        recipe="paper", rollout_prompts=prompts, num_processes=processes, gradient_accumulation_steps=accumulation
    )
    from rlev_cli.train.recipe import recipe_batch

    batch = recipe_batch(prompts, 4, processes, accumulation)
    assert (config.batch_size, batch["steps_per_generation"]) == expected
    assert batch["rollout_completions"] == 4 * prompts == 4 * batch["train_batch"]
    assert config.batch_size * processes * accumulation == prompts  # train batch = a quarter of the rollout


def test_recipe_option_errors():
    with pytest.raises(RlevError, match="--rollout-prompts goes with --recipe paper"):
        TrainConfig(rollout_prompts=8)
    with pytest.raises(RlevError, match="do not split into 4 optimizer steps"):
        TrainConfig(recipe="paper", rollout_prompts=3, num_generations=3)
    result = runner.invoke(app, ["train", "--recipe", "paper", "--batch-size", "16"])
    assert str(result.exception).startswith("--batch-size does not go with --recipe paper")


def test_grpo_kl_in_the_reward_is_k1_reward_to_go():
    advantages = torch.tensor([0.5, 0.0, -0.5])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=torch.float32)
    kl = torch.tensor([[0.2, 0.4, 9.0], [1.0, 1.0, 1.0], [20.0, 0.0, -0.1]])
    got = kl_penalized_advantages(advantages, mask, kl, 0.01, torch.tensor([True, False, True]))
    expected = torch.tensor(
        [[0.5 - 0.006, 0.5 - 0.004, 0.0], [0.0, 0.0, 0.0], [-0.5 - 0.099, -0.5 + 0.001, -0.5 + 0.001]]
    )
    assert torch.allclose(got, expected, atol=1e-6)


def recipe_table() -> list[tuple[str, object]]:
    """(TRL setting, value) for each row of the table in docs/training.md."""
    import ast
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text(encoding="utf-8")
    section = text.split("## `--recipe paper`", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`"):
            rows.append((cells[1].strip("`"), ast.literal_eval(cells[2])))
    return rows


@pytest.mark.parametrize("algo", ["reinforce++", "rloo", "grpo"])
def test_every_row_of_the_docs_table_is_the_resolved_trl_config(tmp_path, algo):
    from dataclasses import asdict

    from rlev_cli.train.build import trl_config_for

    trl_config, _, extra = trl_config_for(TrainConfig(recipe="paper", algo=algo), tmp_path, cuda=False)
    resolved = asdict(trl_config)
    rows = recipe_table()
    assert len(rows) == 18
    for name, value in rows:
        assert resolved[name] == value, name
    # the KL sits in the reward for every estimator: RLOO does it natively, the others through rlev's trainers
    assert algo == "rloo" or extra["kl_in_reward"] is True


def test_a_flag_or_trl_setting_against_the_recipe_is_used_and_reported(tmp_path):
    """--epsilon under --recipe paper was silently replaced by the recipe's 0.2, and --trl fields replacing the
    recipe's TRL settings were not reported: each is now what TRL gets, and a deviation under its own flag."""
    from rlev_cli.train.build import trl_arguments
    from rlev_cli.train.core import _deviation_flag, recipe_deviations

    trl = {"adam_beta2": "0.99", "steps_per_generation": "2", "lr_scheduler_kwargs": '{"min_lr_rate": 0.2}'}
    config = TrainConfig(recipe="paper", rollout_prompts=2, epsilon=0.3, trl=trl)
    arguments = trl_arguments(config, tmp_path, cuda=False)
    assert (arguments["epsilon"], arguments["adam_beta2"], arguments["steps_per_generation"]) == (0.3, 0.99, 2)
    deviations = recipe_deviations(config)
    assert deviations == {
        "epsilon": [0.2, 0.3],
        "trl.adam_beta2": [0.95, 0.99],
        "trl.steps_per_generation": [4, 2],
        "trl.lr_scheduler_kwargs": [{"min_lr_rate": 0.1}, {"min_lr_rate": 0.2}],
    }
    assert [_deviation_flag(name, given) for name, (_, given) in deviations.items()] == [
        "--epsilon 0.3",
        "--trl adam_beta2=0.99",
        "--trl steps_per_generation=2",
        '--trl lr_scheduler_kwargs={"min_lr_rate": 0.2}',
    ]
    # a --trl field that is the recipe's own value, or one the recipe does not set, is no deviation
    same = TrainConfig(recipe="paper", rollout_prompts=2, trl={"adam_beta1": "0.9", "weight_decay": "0.1"})
    assert recipe_deviations(same) == {}
