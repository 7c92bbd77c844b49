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


def test_a_rerun_keeps_a_finished_run_of_the_same_settings(tmp_path, monkeypatch):
    """config.json keeps absolute paths (a run resumes from any directory); the demo's own are relative, and
    a plain string comparison threw away and retrained every finished run on every re-run of the demo."""
    import json

    from rlev_cli.demo.core import _finished_same
    from rlev_cli.settings import as_dict
    from rlev_cli.train.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "warm").mkdir(parents=True)
    (tmp_path / "out" / "questions.parquet").write_bytes(b"")
    wanted = TrainConfig(data="out/questions.parquet", model="out/warm", max_steps=3, output="out/run")
    run = tmp_path / "out" / "run"
    run.mkdir()
    saved = {**as_dict(wanted), "data": str(tmp_path / "out/questions.parquet"), "model": str(tmp_path / "out/warm")}
    (run / "config.json").write_text(json.dumps(saved))
    assert not _finished_same(run, wanted)  # no manifest: not finished
    (run / "manifest.json").write_text("{}")
    assert _finished_same(run, wanted)
    assert not _finished_same(run, TrainConfig(data="out/questions.parquet", model="out/warm", max_steps=4))
