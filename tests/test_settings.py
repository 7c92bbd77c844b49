"""One declaration per setting: every option's default and help come from its config field, every
command takes --config, and flags win over the YAML file, which wins over the defaults."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.config import EvalConfig
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.settings import build_config, cli_fields, help_for, parse_pairs, read_config_file
from rlev_cli.train.config import TrainConfig
from rlev_cli.values.config import ValuesConfig
from tests.conftest import EXAMS

runner = CliRunner()
COMMANDS = {"ingest": IngestConfig, "predict-values": ValuesConfig, "train": TrainConfig, "evaluate": EvalConfig}


def _options(command: str) -> dict[str, object]:
    """The click parameters of a command, by name."""
    import typer.main

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name: p for p in click_command.params}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_takes_default_and_help_from_its_field(command):
    config = COMMANDS[command]
    params = _options(command)
    for field in cli_fields(config):
        if field.name in ("runs",):
            continue
        param = params[field.name]
        assert param.help == field.metadata["help"], field.name
        default = field.default if field.default is not dataclasses.MISSING else None
        if isinstance(default, list | dict) or field.default is dataclasses.MISSING:
            assert param.default in (None, ()), field.name
        else:
            assert param.default == default, field.name
    assert {"config_file", "as_json", "debug"} <= set(params)


def test_choices_are_real_choices_in_help():
    result = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert "--algo <reinforce++|rloo|grpo>" in result.stdout
    assert "--reward <rlev|correctness|uniform|shuffled>" in result.stdout
    assert runner.invoke(app, ["train", "--algo", "ppo"]).exit_code == 2
    assert "Examples:" in result.stdout and "rlev train --algo rloo" in result.stdout


def test_flags_over_yaml_over_defaults(tmp_path):
    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("alpha: 3.0\nlearning_rate: 1.0e-5\n")
    from_file = read_config_file(yaml_file, TrainConfig)
    config = build_config(TrainConfig, {"alpha": 5.0, "learning_rate": 5e-7}, {"alpha"}, from_file)
    assert (config.alpha, config.learning_rate, config.kl_coef) == (5.0, 1e-5, 0.01)
    config = build_config(TrainConfig, {"alpha": 10.0}, set(), from_file)
    assert config.alpha == 3.0


def test_every_command_accepts_config(tmp_path, workspace):
    ingest_yaml = tmp_path / "ingest.yaml"
    ingest_yaml.write_text("seed: 3\ntest_fraction: 0.25\nfield_map: {}\n")
    result = runner.invoke(app, ["ingest", str(EXAMS / "gaokao_bench"), "--config", str(ingest_yaml), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((workspace / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 3 and manifest["config"]["test_fraction"] == 0.25
    values_yaml = tmp_path / "values.yaml"
    values_yaml.write_text("folds: 1\n")
    result = runner.invoke(app, ["predict-values", "--config", str(values_yaml)])
    assert result.exit_code == 1 and str(result.exception) == "--folds must be at least 2"
    eval_yaml = tmp_path / "eval.yaml"
    eval_yaml.write_text("benchmarks: nope\n")
    result = runner.invoke(app, ["evaluate", "--config", str(eval_yaml)])
    assert str(result.exception).startswith("--benchmarks: unknown nope; choose from indomain")


def test_map_pairs_from_flags_and_yaml(tmp_path):
    assert parse_pairs("--map", ["question=problem"]) == {"question": "problem"}
    with pytest.raises(RlevError, match=r"--map 'question': expected KEY=VALUE"):
        parse_pairs("--map", ["question"])
    config = build_config(IngestConfig, {"field_map": ["score=points"]}, {"field_map"})
    assert config.field_map == {"score": "points"}


def test_help_for_reads_the_field():
    assert help_for(ValuesConfig, "folds") == "Cross-validation folds (grouped by exam)."
    with pytest.raises(KeyError):
        help_for(ValuesConfig, "nope")


def test_ingest_formats_are_the_reader_table():
    from rlev_cli.ingest.config import FORMATS
    from rlev_cli.ingest.readers import READERS

    assert ("auto", *sorted(READERS)) == FORMATS
