"""`rlev demo` option checks happen before any work (no papers written, no model built)."""

from __future__ import annotations

from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.demo.config import DemoConfig


def test_unknown_mode_is_one_error_before_any_work(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--mode", "bogus"])
    assert result.exit_code == 1
    assert str(result.exception) == "--mode bogus: choose from correctness, rlev, uniform, shuffled"
    assert not (tmp_path / "d").exists()


def test_quick_keeps_only_the_first_seed():
    assert DemoConfig(seeds=[5, 6, 7], quick=True).seeds == [5]
    assert DemoConfig().seeds == [0, 1, 2] and DemoConfig().modes == ["correctness", "rlev", "uniform", "shuffled"]
