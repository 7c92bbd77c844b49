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


@pytest.fixture
def one_train_row(ingested):
    """The examples' table with a single train row (the test rows kept)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(ingested)
    train = table.filter(pc.equal(table["split"], "train")).slice(0, 1)
    pq.write_table(pa_concat(train, table.filter(pc.equal(table["split"], "test"))), ingested)
    return ingested


def pa_concat(*tables):
    import pyarrow as pa

    return pa.concat_tables(tables)


@pytest.mark.parametrize("steps", [["--max-steps", "3"], []])
def test_a_run_that_would_train_zero_steps_is_an_error(one_train_row, workspace, tmp_path, steps):
    """#18 item 4: one train row and a rollout of 2 prompts trained 0 steps and saved the base model (with
    --max-steps), or ended in a 51-line transformers traceback (without)."""
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", *steps, "--output", str(run)])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "1 train prompt(s), but one rollout takes 2 (--batch-size 8 x 1 process(es) x 1 micro-batch(es) per "
        "rollout / --num-generations 4; 1 optimizer step(s) per rollout), so this run would train 0 steps; "
        "use --batch-size 4, or add train rows (more exams, a lower --test-fraction at ingest)"
    )
    assert not run.exists() and not (workspace / "runs").exists()


def test_the_suggested_batch_size_trains(one_train_row):
    from rlev_cli.train.build import check_steps

    check_steps(TrainConfig(batch_size=4), 1)  # one prompt x 4 generations: one rollout
    with pytest.raises(RlevError, match=r"^3 train prompt\(s\), but one rollout takes 4 .*use --batch-size 12,"):
        check_steps(TrainConfig(batch_size=16), 3)
    with pytest.raises(
        RlevError, match=r"one rollout takes 8 \(--rollout-prompts 8 with --recipe paper.*use --rollout-prompts 5"
    ):
        check_steps(TrainConfig(recipe="paper", rollout_prompts=8), 5)
    # a rollout TRL was told the size of: rlev's own flags cannot shrink it, so the hint names the --trl field
    with pytest.raises(RlevError) as error:
        check_steps(TrainConfig(batch_size=4, trl={"steps_per_generation": "2"}), 1)
    assert str(error.value) == (
        "1 train prompt(s), but one rollout takes 2 (--batch-size 4 x 1 process(es) x 2 micro-batch(es) per "
        "rollout / --num-generations 4; 2 optimizer step(s) per rollout), so this run would train 0 steps; "
        "lower --trl steps_per_generation, or add train rows (more exams, a lower --test-fraction at ingest)"
    )
    check_steps(TrainConfig(batch_size=4, trl={"steps_per_generation": "2"}), 2)
    with pytest.raises(RlevError) as error:  # a fixed generation batch: no --batch-size advice (it cannot help)
        check_steps(TrainConfig(batch_size=64, num_generations=2, trl={"generation_batch_size": "256"}), 71)
    assert str(error.value).endswith(
        "so this run would train 0 steps; lower --trl generation_batch_size (to 142 or less), or add train rows "
        "(more exams, a lower --test-fraction at ingest)"
    )


def test_a_dead_judge_leaves_no_run_folder(ingested, workspace, tmp_path):
    """#18: a judge URL that does not answer was reported, but a run folder with config.json stayed behind
    (then "the latest run" of evaluate, and the folder --resume retried)."""
    result = runner.invoke(
        app, ["train", "--judge-url", "http://127.0.0.1:9/v1", "--judge-model", "m", "--max-steps", "1"]
    )
    assert result.exit_code == 1
    assert str(result.exception).startswith("judge http://127.0.0.1:9/v1 does not answer (ConnectionRefusedError")
    assert not (workspace / "runs").exists()


def test_a_run_failing_before_its_first_step_is_removed(ingested, workspace, monkeypatch):
    import rlev_cli.train.core as core

    def fail(*args, **kwargs):
        raise RlevError("model failed to load")

    monkeypatch.setattr(core, "train_here", fail)
    result = runner.invoke(app, ["train", "--max-steps", "1"])
    assert str(result.exception) == "model failed to load"
    assert not (workspace / "runs").exists()  # the claimed folder, and runs/ it was alone in, are gone
