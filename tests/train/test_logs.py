"""#18 item 5: with stderr going to a file (a batch system's log), `rlev train` writes one plain line per
logged step and a last line, instead of nothing until the end (0 bytes over a 45 s run before)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from rich.console import Console

from rlev_cli.output import Output, StepLines
from tests.conftest import REPO, ingest_examples

FAST = ["--max-completion-length", "8", "--kl-coef", "0", "--save-steps", "10"]
LINE = re.compile(
    r"train rloo/rlev step (\d+)/3  reward=\S+  len=\S+  acc_low_v=\S+  acc_high_v=\S+  step_time=\d+\.\d\ds"
    r"  eta=\d:\d\d:\d\d"
)


@pytest.mark.slow  # a fresh process imports TRL (about 9 s) and trains 3 steps: ~20 s on 2 idle cores
def test_train_logs_plain_lines_when_stderr_is_a_file(workspace, tmp_path):
    ingest_examples()
    log = tmp_path / "train.err"
    with log.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "rlev_cli", "train", "--max-steps", "3", "--logging-steps", "2", *FAST],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=300,
        )
    assert done.returncode == 0, log.read_text()
    lines = [line for line in log.read_text().splitlines() if not line.startswith("Warning:")]
    assert [int(LINE.fullmatch(line).group(1)) for line in lines[:-1]] == [2, 3]  # logged steps, and the last
    assert re.fullmatch(r"train rloo/rlev: 3/3 steps in \d+\.\d s", lines[-1])
    assert "rlev train" in done.stdout  # the summary table, on stdout as before


def _progress(output: Output, terminal: bool) -> object:
    console = Console(file=io.StringIO(), force_terminal=terminal)
    output._stderr = lambda: console  # type: ignore[method-assign]
    with output.progress(3, "train", lines=True) as advance:
        return advance


def test_no_progress_gives_the_same_lines_on_a_terminal():
    output = Output()
    assert not isinstance(_progress(output, terminal=True), StepLines)  # the live bar
    assert isinstance(_progress(output, terminal=False), StepLines)
    output.use_bars(False)  # --no-progress
    assert isinstance(_progress(output, terminal=True), StepLines)


def test_step_lines_time_only_the_steps_run_here(capsys, monkeypatch):
    clock = iter([0.0, 100.0, 102.0, 103.0, 104.0, 110.0])
    monkeypatch.setattr("rlev_cli.output.time.perf_counter", lambda: next(clock))
    lines = StepLines("train", 10)  # t = 0
    lines(4, timed=False)  # resumed after step 4, at t = 100
    lines(1, log=False)  # step 5 at 102: not a logging step
    lines(1, log=True, reward=0.5)  # step 6 at 103: 1.5 s per step since the line before, 4 steps left
    lines(1, log=True)  # step 7 at 104
    lines.finish()  # at 110
    assert capsys.readouterr().err.splitlines() == [
        "train step 6/10  reward=0.5  step_time=1.50s  eta=0:00:06",
        "train step 7/10  step_time=1.00s  eta=0:00:04",
        "train: 7/10 steps in 10.0 s",
    ]
