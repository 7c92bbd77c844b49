"""The shared command-line conventions: help, version, JSON mode, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from rlev_cli.cli import app
from tests.conftest import EXAMS

runner = CliRunner()


def test_help_lists_the_four_commands_with_summaries():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "predict-values", "train", "evaluate"):
        assert command in result.stdout
    assert runner.invoke(app, ["--version"]).stdout.startswith("rlev 0.")


def test_json_mode_prints_one_object_on_stdout(workspace):
    result = runner.invoke(app, ["ingest", str(EXAMS / "gaokao_bench"), "--json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["command"] == "ingest" and summary["questions"] == 102 and summary["records_in"] == 102
    assert set(summary) >= {"rejects", "exams", "train", "test", "formats", "questions_path", "warnings", "inputs"}
    assert summary["inputs"][0] == {
        "path": str(EXAMS / "gaokao_bench" / "2010-2022_Chinese_Modern_Lit.json"),
        "format": "gaokao",
        "records": 4,
    }
    assert (workspace / "questions.parquet").exists() and (workspace / "manifest.json").exists()


def test_workspace_flag_and_out_dir(tmp_path):
    result = runner.invoke(app, ["ingest", str(EXAMS / "ksat_ai_benchmark"), "-w", str(tmp_path / "w"), "--json"])
    assert json.loads(result.stdout)["questions_path"] == str(tmp_path / "w" / "questions.parquet")
    result = runner.invoke(app, ["ingest", str(EXAMS / "ksat_ai_benchmark"), "-o", str(tmp_path / "o"), "--json"])
    assert (tmp_path / "o" / "rejects.parquet").exists()


def test_user_error_is_one_line_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rlev_cli", "ingest", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope'}: no such file or folder"
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rlev_cli", "ingest", str(tmp_path / "nope"), "--debug"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and "Traceback" in result.stderr and "RlevError" in result.stderr


def test_strict_fails_and_writes_nothing(workspace):
    result = runner.invoke(app, ["ingest", str(EXAMS / "jeebench"), "--strict"])
    assert result.exit_code == 1
    assert str(result.exception).startswith("30 record(s) rejected under --strict, first: ")
    assert not (workspace / "questions.parquet").exists()


def test_usage_errors_exit_2():
    assert runner.invoke(app, ["ingest"]).exit_code == 2
    assert runner.invoke(app, ["train", "--no-such-flag"]).exit_code == 2


def test_train_config_file_and_flags_override(tmp_path, workspace):
    config = tmp_path / "train.yaml"
    config.write_text("algo: grpo\nscale_rewards: group\n")
    result = runner.invoke(app, ["train", "--config", str(config)])
    assert "divides s(x) back out" in str(result.exception)  # the YAML reached TrainConfig
    result = runner.invoke(app, ["train", "--config", str(config), "--scale-rewards", "batch"])
    assert "no questions table here" in str(result.exception)  # the flag won; data is the next check
    config.write_text("algo: grpo\nbogus: 1\n")
    message = str(runner.invoke(app, ["train", "--config", str(config)]).exception)
    assert message.startswith(f"{config}: unknown setting(s) bogus; known: accelerate_config, algo, allow_group")


def _rlev(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlev_cli", *args], capture_output=True, text=True, cwd=cwd)


def test_unwritable_output_paths_are_one_error_line(tmp_path, ingested):
    """A path under a regular file, /dev/null or /proc: one `Error:` line naming the path, exit 1."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = {
        ("ingest", str(EXAMS / "ksat_ai_benchmark"), "-o", "/dev/null/ws"): "/dev/null/ws",
        ("predict-values", "--data", str(ingested), "--out", str(blocker / "v.parquet")): str(blocker),
        ("train", "--data", str(ingested), "--output", str(blocker / "run"), "--max-steps", "1"): str(blocker),
        ("evaluate", "--model", "tiny", "--data", str(ingested), "--limit", "1", "--out", "/proc/rlev-eval"): (
            "/proc/rlev-eval"
        ),
    }
    for args, path in cases.items():
        result = _rlev(*args, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith(f"Error: cannot write {path}"), (args, lines)
        assert "Traceback" not in result.stderr
