"""#18 item 8: the TRL settings a TRL user reaches for, each one rlev option passed to TRL's config, plus
`--trl KEY=VALUE` for any other field of TRL's config class, checked against its fields and types."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from trl import GRPOConfig, RLOOConfig
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.train.build import TRL_FIELD_OPTIONS, lora_config, make_trl_config
from rlev_cli.train.config import LOSS_TYPES, TrainConfig

runner = CliRunner()


def trl(tmp_path: Path, **settings: object) -> GRPOConfig | RLOOConfig:
    return make_trl_config(TrainConfig(**settings), tmp_path / "run", cuda=False)


def test_each_option_reaches_trl(tmp_path):
    args = trl(
        tmp_path,
        algo="grpo",
        top_p=0.9,
        top_k=20,
        loss_type="dr_grpo",
        epsilon=0.1,
        epsilon_high=0.28,
        gradient_checkpointing=True,
        eval_steps=5,
    )
    assert isinstance(args, GRPOConfig)
    assert (args.top_p, args.top_k, args.loss_type, args.epsilon, args.epsilon_high) == (0.9, 20, "dr_grpo", 0.1, 0.28)
    assert args.activation_checkpointing is True and args.gradient_checkpointing is True
    assert (args.eval_strategy, args.eval_steps, args.per_device_eval_batch_size) == ("steps", 5, 8)
    defaults = trl(tmp_path, algo="reinforce++")
    assert (defaults.loss_type, defaults.epsilon, defaults.epsilon_high, defaults.top_k) == (
        "dapo",
        0.2,
        None,
        0,
    )  # the trainer uses epsilon
    assert defaults.activation_checkpointing is False and defaults.eval_strategy == "no"
    rloo = trl(tmp_path, top_p=0.5, epsilon_high=0.3)
    assert isinstance(rloo, RLOOConfig) and (rloo.top_p, rloo.epsilon_high) == (0.5, 0.3)


def test_loss_types_are_trls():
    (field,) = [f for f in dataclasses.fields(GRPOConfig) if f.name == "loss_type"]
    documented = re.search(r"Supported values are (.*?)\. ", field.metadata["help"]).group(1)
    assert sorted(LOSS_TYPES) == sorted(re.findall(r"'(\w+)'", documented))


def test_lora_options():
    assert lora_config(TrainConfig()) is None
    lora = lora_config(TrainConfig(lora_r=8))
    assert (lora.r, lora.lora_alpha, lora.lora_dropout, lora.target_modules) == (8, 16, 0.0, "all-linear")
    lora = lora_config(TrainConfig(lora_r=8, lora_alpha=8, lora_dropout=0.05, lora_target_modules=["q_proj", "v_proj"]))
    assert (lora.lora_alpha, lora.lora_dropout, lora.target_modules) == (8, 0.05, {"q_proj", "v_proj"})
    with pytest.raises(RlevError, match=r"^--lora-alpha, --lora-dropout and --lora-target-module go with --lora-r R"):
        TrainConfig(lora_alpha=16)


def test_trl_pass_through_is_typed(tmp_path):
    args = trl(
        tmp_path,
        algo="grpo",
        trl={
            "num_iterations": "2",
            "mask_truncated_completions": "true",
            "lr_scheduler_kwargs": '{"min_lr_rate": 0.1}',
            "max_grad_norm": "0.5",
            "num_generations_eval": "null",
        },
    )
    assert (args.num_iterations, args.mask_truncated_completions, args.max_grad_norm) == (2, True, 0.5)
    assert args.lr_scheduler_kwargs == {"min_lr_rate": 0.1} and args.num_generations_eval is None
    assert trl(tmp_path, trl={"normalize_advantages": True}).normalize_advantages is True  # YAML: typed already


@pytest.mark.parametrize(
    "pairs,message",
    [
        (["lerning_rate=1e-5"], "--trl lerning_rate: not a field of TRL's RLOOConfig; did you mean learning_rate"),
        (["learning_rate=1e-5"], "--trl learning_rate: rlev sets TRL's learning_rate from --learning-rate; use"),
        (["beta=0.1"], "--trl beta: rlev sets TRL's beta from --kl-coef; use --kl-coef"),
        (["output_dir=/tmp/x"], "--trl output_dir: rlev sets it itself; the checkpoints go to RUN/checkpoints"),
        (["num_iterations=1.5"], "--trl num_iterations: expected an integer, got '1.5'"),
        (["mask_truncated_completions=no"], "--trl mask_truncated_completions: expected true or false, got 'no'"),
        (["lr_scheduler_kwargs=3"], '--trl lr_scheduler_kwargs: expected a JSON object such as {"min_lr_rate": 0.1}'),
        (["loss_type=grpo"], "--trl loss_type: rlev sets TRL's loss_type from --loss-type; use --loss-type"),
        (["num_iterations"], "--trl 'num_iterations': expected KEY=VALUE"),
    ],
)
def test_a_bad_trl_field_is_one_error_before_any_run_folder(ingested, workspace, pairs, message):
    result = runner.invoke(app, ["train", *[a for p in pairs for a in ("--trl", p)], "--max-steps", "1"])
    assert result.exit_code == 1 and str(result.exception).startswith(message), result.exception
    assert not (workspace / "runs").exists()


def test_every_option_named_for_a_trl_field_exists():
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(TRL_FIELD_OPTIONS.values()) <= names


def test_trl_refusing_the_settings_is_one_error(ingested, workspace):
    result = runner.invoke(app, ["train", "--trl", "steps_per_generation=2", "--trl", "generation_batch_size=16"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "TRL's RLOOConfig refuses these settings: 'generation_batch_size' and 'steps_per_generation' can not be "
        "both configured at the same time"
    )
    assert not (workspace / "runs").exists()


def test_loss_type_is_not_rloos():
    with pytest.raises(RlevError, match=r"^--loss-type grpo is for --algo grpo or reinforce\+\+"):
        TrainConfig(algo="rloo", loss_type="grpo")


def test_eval_steps_evaluate_the_test_split(ingested, workspace, tmp_path):
    """TRL samples G completions of each test prompt every N steps and logs eval_* (reward, lengths, loss);
    the eval completions stay out of rollouts.parquet, which holds what the policy trained on."""
    table = pq.read_table(ingested)
    train = table.filter(pc.equal(table["split"], "train"))
    pq.write_table(pa.concat_tables([train, table.filter(pc.equal(table["split"], "test")).slice(0, 2)]), ingested)
    run = tmp_path / "run"
    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("eval_steps: 1\ntrl:\n  num_iterations: 1\n")
    args = ["train", "--config", str(yaml_file), "--max-steps", "2", "--max-completion-length", "4", "--kl-coef", "0"]
    result = runner.invoke(app, [*args, "--output", str(run)])
    assert result.exit_code == 0, result.output
    metrics = pq.read_table(run / "metrics.parquet").to_pylist()
    assert [m["step"] for m in metrics] == [1, 2]  # one row a step: train and eval logs joined
    for m in metrics:
        assert m["reward"] is not None and m["eval_reward"] is not None and m["eval_loss"] is not None
        assert 0 < m["eval_completions/mean_length"] <= 4
        assert m["eval_num_tokens"] > 0
    rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
    assert len(rollouts) == 16 and {r["id"] for r in rollouts} <= set(train["id"].to_pylist())
    assert json.loads((run / "config.json").read_text())["trl"] == {"num_iterations": 1}


def test_eval_steps_without_a_test_split(workspace, tmp_path):
    from tests.conftest import ingest_examples

    ingest_examples("--test-fraction", "0")
    result = runner.invoke(app, ["train", "--eval-steps", "2"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        f"--eval-steps 2: {workspace / 'questions.parquet'} has no test row with a 'value' value to evaluate on; "
        "ingest with --test-fraction > 0, or drop --eval-steps"
    )
