"""#11 item 8 (train options) and #9 item 7: each impossible option is one `Error:` line naming it, before
any work; --report-to names the missing tracker package."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.train.config import TrainConfig

runner = CliRunner()


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--alpha", "0"], "--alpha must be > 0 (got 0.0); s(x) = 1 + min(alpha * v, 1)"),
        (["--alpha", "-1"], "--alpha must be > 0 (got -1.0); s(x) = 1 + min(alpha * v, 1)"),
        (["--epochs", "0"], "--epochs must be > 0 (got 0.0)"),
        (["--max-steps", "0"], "--max-steps must be > 0, or -1 to run --epochs (got 0)"),
        (["--lora-r", "-4"], "--lora-r must be > 0 (a LoRA rank), or 0 for full fine-tuning (got -4)"),
        (["--temperature", "0"], "--temperature must be > 0 (got 0.0): training samples, never greedy"),
        (["--kl-coef", "-0.1"], "--kl-coef must be >= 0 (got -0.1)"),
        (["--verifier", "judge"], "--verifier judge needs --judge-url URL and --judge-model NAME"),
        (["--verify-timeout", "0"], "--verify-timeout 0.0: must be > 0 seconds"),
    ],
)
def test_each_bad_option_is_its_own_error(ingested, flags, message):
    result = runner.invoke(app, ["train", *flags])
    assert result.exit_code == 1
    assert str(result.exception) == message


@pytest.mark.parametrize(
    "flag,value,choices",
    [
        ("--verifier", "llm", "'rule', 'judge', 'rule+judge'"),
        ("--report-to", "comet", "'none', 'wandb', 'tensorboard', 'trackio', 'mlflow'"),
        ("--recipe", "openrlhf", "'paper'"),
    ],
)
def test_a_value_outside_the_choices_is_a_usage_error(ingested, flag, value, choices):
    result = runner.invoke(app, ["train", flag, value], terminal_width=200)
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert f"Invalid value for '{flag}'" in output and f"'{value}' is not one of {choices}" in output


@pytest.mark.parametrize(
    "setting,message",
    [
        ({"verifier": "llm"}, "--verifier 'llm': choose rule, judge, rule+judge"),
        ({"report_to": "comet"}, "--report-to 'comet': choose none, wandb, tensorboard, trackio, mlflow"),
        ({"recipe": "openrlhf"}, "--recipe 'openrlhf': the one recipe is 'paper'"),
    ],
)
def test_the_same_choices_from_yaml_or_python(setting, message):
    with pytest.raises(RlevError) as error:
        TrainConfig(**setting)
    assert str(error.value) == message


def test_report_to_a_tracker_that_is_not_installed(ingested, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("tensorboard") else real(name, *a)
    )
    result = runner.invoke(app, ["train", "--report-to", "tensorboard", "--max-steps", "1"])
    assert result.exit_code == 1
    assert str(result.exception) == "--report-to tensorboard needs tensorboard: pip install tensorboard"


def test_tracking_note_says_where_the_logs_go(tmp_path, monkeypatch):
    from rlev_cli.train.config import TrainConfig
    from rlev_cli.train.core import tracking

    monkeypatch.setenv("WANDB_PROJECT", "rlev-exp")
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    run = tmp_path / "run-1"
    assert tracking(TrainConfig(report_to="wandb"), run)["where"] == "Weights & Biases project 'rlev-exp', run 'run-1'"
    assert tracking(TrainConfig(report_to="tensorboard"), run) == {
        "report_to": "tensorboard",
        "where": f"TensorBoard event files in {run / 'tensorboard'}",
    }
