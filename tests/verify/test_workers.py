"""#15 item 4: the math checks use a worker per core, each still bounded in time per answer."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from rlev_cli.errors import RlevError
from rlev_cli.verify.settings import GradingSettings
from rlev_cli.verify.worker import MathWorker, WorkerPool, grading_cores

JOBS = [
    ["math", "\\frac{1}{2}", ["0.5"], True],
    ["math", "y=5x+2", ["$5 x-y+2=0$"], True],
    ["math", "[1,2)", ["$(1,2)$"], True],
    ["math", "\\{2,1\\}", ["$\\{1,2\\}$"], True],
    ["numeric", "\\sqrt{2}", "1.41", "0.01"],
]
EXPECTED = [(True, ""), (True, ""), (False, ""), (True, ""), (True, "")]


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(2)
    yield pool
    pool.resize(1)
    pool.workers[0].close() if pool.workers else None


def test_a_batch_is_spread_over_the_workers_and_comes_back_in_order(pool):
    assert pool.run(JOBS, 5.0) == EXPECTED
    assert len(pool.workers) == 2
    pids = {w._proc.pid for w in pool.workers}
    assert len(pids) == 2 and os.getpid() not in pids
    assert pool.run(JOBS[:1], 5.0) == EXPECTED[:1]  # one job: one worker


def test_a_wedged_worker_is_replaced_and_the_other_share_is_graded(pool):
    pool.run(JOBS[:2], 5.0)
    stuck = pool.workers[1]._proc.pid
    os.kill(stuck, signal.SIGSTOP)
    got = pool.run(JOBS, 0.5)
    # worker 1 had jobs 1 and 3: job 1 misses the hard deadline (2 x 0.5 + 0.25 s), job 3 goes to a fresh one
    assert got[1] == (None, "timeout after 0.5 s (math worker restarted)")
    assert [got[i] for i in (0, 2, 3, 4)] == [EXPECTED[i] for i in (0, 2, 3, 4)]
    assert pool.workers[1]._proc.pid != stuck


def test_the_pool_works_from_a_thread(pool):
    out: list = []
    thread = threading.Thread(target=lambda: out.append(pool.run(JOBS, 5.0)))
    thread.start()
    thread.join(60)
    assert out == [EXPECTED]


def test_the_default_is_the_cores_free_and_the_setting_is_checked():
    assert grading_cores() == max(1, len(os.sched_getaffinity(0)) - 1)
    assert WorkerPool().size == grading_cores() and WorkerPool(3).size == 3
    assert GradingSettings().verify_workers == 0
    with pytest.raises(RlevError, match=r"--verify-workers -1: must be >= 0 \(0 = the cores free\)"):
        GradingSettings(verify_workers=-1)


def test_the_grader_sizes_the_process_pool_from_the_setting():
    from rlev_cli.verify.grade import make_grader
    from rlev_cli.verify.worker import math_pool

    before = math_pool().size
    try:
        grader = make_grader("rule", workers=3)
        assert grader.grade(["q"], ["Therefore, the answer is $y=5x+2$"], ["$5 x-y+2=0$"], ["fill_blank"])[0].correct
        assert math_pool().size == 3
        make_grader("rule", workers=0).grade(["q"], ["so 7"], ["7"], ["numeric"])
        assert math_pool().size == grading_cores()
    finally:
        math_pool(before)


DECOY_WORKER = """import json, pathlib, sys
pathlib.Path(__file__).with_name("ran").write_text("the decoy worker ran")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    print(json.dumps({"id": json.loads(line)["id"], "ok": False, "reason": "decoy"}), flush=True)
"""


def test_the_worker_imports_the_parents_rlev_cli_not_one_in_the_current_directory(tmp_path, monkeypatch):
    """Run from a folder that holds another rlev_cli (another checkout), the child still runs this one."""
    decoy = tmp_path / "rlev_cli" / "verify"
    decoy.mkdir(parents=True)
    (tmp_path / "rlev_cli" / "__init__.py").write_text("")
    (decoy / "__init__.py").write_text("")
    (decoy / "worker.py").write_text(DECOY_WORKER)
    monkeypatch.chdir(tmp_path)
    worker = MathWorker()
    try:
        assert worker.run(JOBS[:1], 5.0) == EXPECTED[:1]
    finally:
        worker.close()
    assert not (decoy / "ran").exists()
