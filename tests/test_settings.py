"""One declaration per setting: every option's default and help come from its config field, every
command takes --config, and flags win over the YAML file, which wins over the defaults."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

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


def _yaml(tmp_path, text):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return path


def test_yaml_values_are_converted_to_the_declared_type(tmp_path):
    """#18 item 3: PyYAML reads `1e-5` as a string; the setting is a float, so it is one."""
    path = _yaml(tmp_path, "learning_rate: 1e-5\nmax_steps: '3'\nepochs: 2\ndata: q.parquet\nbf16: null\n")
    config = build_config(TrainConfig, {}, set(), read_config_file(path, TrainConfig))
    assert (config.learning_rate, config.max_steps, config.epochs) == (1e-5, 3, 2.0)
    assert type(config.learning_rate) is float and type(config.epochs) is float
    assert config.data == Path("q.parquet")
    assert config.bf16 is None


@pytest.mark.parametrize(
    "text,message",
    [
        ("max_steps: 1.7\n", "max_steps: expected an integer, got 1.7"),
        ('bf16: "no"\n', "bf16: expected true or false or null, got 'no'"),
        ("resume: 1\n", "resume: expected true or false, got 1"),
        ("learning_rate: fast\n", "learning_rate: expected a number, got 'fast'"),
        ("alpha: true\n", "alpha: expected a number, got True"),
        ("model: 7\n", "model: expected a string, got 7"),
        ("max_train_samples: 2.5\n", "max_train_samples: expected an integer or null, got 2.5"),
        ("data: [a, b]\n", "data: expected a path or null, got ['a', 'b']"),
        ("? [a, b]\n: 1\n", "line 1: a key must be a name, not a list"),  # was a TypeError traceback
        ("trl:\n  ? {a: 1}\n  : 1\n", "line 2: a key must be a name, not a mapping"),
    ],
)
def test_a_yaml_value_of_the_wrong_type_is_one_error(tmp_path, text, message):
    path = _yaml(tmp_path, text)
    with pytest.raises(RlevError) as error:
        read_config_file(path, TrainConfig)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    "config,text,message,good",
    [
        (TrainConfig, "algo: rlooo\n", "algo: 'rlooo' is not a choice; choose reinforce++, rloo, grpo", "grpo"),
        (TrainConfig, "kl_form: OpenRLHF\n", "kl_form: 'OpenRLHF' is not a choice; choose trl, openrlhf", None),
        (ValuesConfig, "target: points\n", "target: 'points' is not a choice; choose auto, value, score", "score"),
    ],
)
def test_a_yaml_value_outside_its_choices_names_the_file_and_key(tmp_path, config, text, message, good):
    """Not `--algo 'rlooo'`: the value came from the file, so the error says which file and key."""
    path = _yaml(tmp_path, text)
    with pytest.raises(RlevError) as error:
        read_config_file(path, config)
    assert str(error.value) == f"{path}: {message}"
    key = text.split(":")[0]
    path.write_text(f"{key}: {'null' if good is None else good}\n")  # kl_form's null: the algorithm's default form
    assert read_config_file(path, config) == {key: good}


@pytest.mark.parametrize(
    "text,line,key",
    [
        ("alpha: 1.0\nmax_steps: 3\nalpha: 2.0\n", 3, "alpha"),  # PyYAML kept the last: trained with α = 2
        ("trl:\n  top_entropy_quantile: 0.2\n  top_entropy_quantile: 0.5\n", 3, "top_entropy_quantile"),
    ],
)
def test_a_key_given_twice_in_the_yaml_is_one_error_naming_its_line(tmp_path, workspace, text, line, key):
    path = _yaml(tmp_path, text)
    with pytest.raises(RlevError) as error:
        read_config_file(path, TrainConfig)
    assert str(error.value) == f"{path}: line {line}: key {key!r} is given twice; keep one"
    result = runner.invoke(app, ["train", "--config", str(path), "--output", str(tmp_path / "run")])
    assert result.exit_code == 1 and str(result.exception) == str(error.value)
    assert not (tmp_path / "run").exists() and not workspace.exists()


def test_yaml_merge_keys_still_merge_and_are_overridden_by_the_mapping_own_keys(tmp_path):
    path = _yaml(tmp_path, "trl:\n  <<: {top_entropy_quantile: 0.2, num_iterations: 2}\n  top_entropy_quantile: 0.5\n")
    assert read_config_file(path, TrainConfig) == {"trl": {"top_entropy_quantile": 0.5, "num_iterations": 2}}


def test_a_wrong_type_stops_the_command_before_anything_is_made(tmp_path, workspace):
    path = _yaml(tmp_path, "max_steps: 1.7\n")
    result = runner.invoke(app, ["train", "--config", str(path), "--output", str(tmp_path / "run")])
    assert result.exit_code == 1 and str(result.exception) == f"{path}: max_steps: expected an integer, got 1.7"
    assert not (tmp_path / "run").exists() and not workspace.exists()


def test_list_and_mapping_settings_from_yaml(tmp_path):
    from rlev_cli.demo.config import DemoConfig

    path = tmp_path / "demo.yaml"
    path.write_text("seeds: [1, '2']\nout: here\n")
    config = build_config(DemoConfig, {}, set(), read_config_file(path, DemoConfig))
    assert config.seeds == [1, 2] and config.out == Path("here")
    path.write_text("seeds: 1\n")
    with pytest.raises(RlevError, match=r"seeds: expected a list of integers, got 1$"):
        read_config_file(path, DemoConfig)
    path = tmp_path / "ingest.yaml"
    path.write_text("field_map: [question=problem]\n")
    assert read_config_file(path, IngestConfig) == {"field_map": {"question": "problem"}}
    path.write_text("field_map: {question: problem, score: 5}\n")  # the entry named, not the whole mapping
    with pytest.raises(RlevError) as error:
        read_config_file(path, IngestConfig)
    assert str(error.value) == f"{path}: field_map: score: expected a string, got 5"


def test_python_values_are_checked_too():
    with pytest.raises(RlevError, match=r"^max_steps: expected an integer, got 1.7$"):
        build_config(TrainConfig, {}, set(), {"max_steps": 1.7})


def test_a_misspelt_yaml_key_names_the_close_match(tmp_path):
    path = _yaml(tmp_path, "lerning_rate: 1e-5\n")
    with pytest.raises(RlevError, match=r"unknown setting\(s\) lerning_rate \(did you mean learning_rate\?\); known"):
        read_config_file(path, TrainConfig)


def test_the_converter_on_the_types_trl_declares():
    """`convert` also serves `--trl` (TRL's fields use Literal, enums, unions of dict and str)."""
    from typing import Literal

    from transformers.trainer_utils import SchedulerType

    from rlev_cli.settings import WrongType, convert

    assert convert("a", Literal["a", "b"]) == "a" and convert(False, str | None | Literal[False]) is False
    assert convert("cosine", SchedulerType | str) == "cosine" and convert({"x": 1}, dict | str | None) == {"x": 1}
    assert convert(["1", 2], list[float] | None) == [1.0, 2.0]
    with pytest.raises(WrongType, match=r"^one of 'a', 'b'$"):
        convert("c", Literal["a", "b"])
