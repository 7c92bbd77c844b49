"""#18 item 6: torch's threads come from the cores free now (or --threads), by one rule declared once for
every command that runs torch; on 2 cores under a load of 3.5, torch's default of 2 threads made the
quickstart's `rlev evaluate` take 4 minutes instead of 30 s."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch
from typer.testing import CliRunner

from rlev_cli.analysis.config import TerminationConfig
from rlev_cli.cli import app
from rlev_cli.demo.config import DemoConfig
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.config import EvalConfig
from rlev_cli.threads import ThreadSettings, free_cores, torch_threads
from rlev_cli.train.config import TrainConfig

runner = CliRunner()


@pytest.fixture(autouse=True)
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def machine(monkeypatch):
    """A 2-core CPU set on a machine whose 1-minute load is set by the test."""

    def set_load(load: float, n_cores: int = 2) -> None:
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n_cores)), raising=False)

    return set_load


@pytest.fixture
def big_model(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "model.safetensors").open("wb") as handle:  # 20 MB, sparse
        handle.truncate(20 * 2**20)
    return folder


def test_the_free_cores_rule(machine, big_model, tiny_model_dir):
    machine(3.5)  # the busy 2-core machine
    assert torch_threads(None, big_model) == 1
    machine(0.3)
    assert torch_threads(None, big_model) == 2
    assert torch_threads(None, big_model, processes=2) == 1  # two training processes share the cores
    machine(2.4, n_cores=16)
    assert torch_threads(None, big_model) == 14 and free_cores() == 14
    assert torch_threads(None, tiny_model_dir) == 1  # small matrices: hand-offs cost more than they save
    assert torch_threads(None, "tiny") == 1
    assert torch_threads(3, tiny_model_dir) == 3  # --threads wins


def test_one_declaration_in_every_command_that_runs_torch():
    declared = dataclasses.fields(ThreadSettings)[0]
    for config in (TrainConfig, EvalConfig, TerminationConfig, DemoConfig):
        assert next(f for f in dataclasses.fields(config) if f.name == "threads").metadata is declared.metadata
    for command in (["train"], ["evaluate"], ["demo"], ["analyze", "termination"]):
        result = runner.invoke(app, [*command, "--help"], terminal_width=200)
        assert "--threads" in result.stdout, command
    with pytest.raises(RlevError, match=r"^--threads 0: must be >= 1$"):
        EvalConfig(threads=0)


def test_evaluate_applies_the_rule(ingested, tiny_model_dir, machine, tmp_path):
    machine(0.0, n_cores=4)
    args = ["evaluate", "--model", str(tiny_model_dir), "--limit", "2", "--max-new-tokens", "2"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 1  # the tiny model, whatever is free
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--threads", "3"])
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 3
