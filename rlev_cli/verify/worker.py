"""The math checks' time bound: a persistent worker process, killed and restarted when it wedges.

math-verify's own timeouts use `signal.alarm`, which only works in a process's main thread (the training
loop's reward call and evaluation threads are not), and no signal interrupts a C-level big-integer power
(9^{9^{9}}). So math jobs run in a child process, `python -P -m rlev_cli.verify.worker` (the parent's own
rlev_cli first on its path, never one in the current directory), whose main thread bounds each job with
its own interval timer (sub-second, unlike `alarm`); the parent gives every job a hard
deadline of 2 x timeout + 0.25 s on top, kills a worker that misses it and starts a fresh one for the rest.
Jobs go in batches over pipes (JSON lines); the child exits when its stdin closes, so it never outlives
the parent, and the parent closes it at exit. A `WorkerPool` runs one worker per free core (configurable:
`--verify-workers`), a batch's jobs spread over them.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rlev_cli.threads import cores

Verdict = tuple[bool | None, str]

STARTUP_TIMEOUT_S = 120.0  # importing sympy + math-verify on a busy machine
_CHUNK_BYTES = 32_000  # below the pipe buffer, so neither side blocks while the other writes
_MEMORY_LIMIT = 4 << 30


_WARM_UP = (
    ["math", "\\frac{1}{2}", ["0.5"]],
    ["math", "y=5x+2", ["$5 x-y+2=0$"]],
    ["math", "x^2-6x+y^2+7=0", ["$(x-3)^{2}+y^{2}=2$"]],
    ["math", "[1,2)", ["$(1,2)$"]],
    ["math", "\\{2,1\\}", ["$\\{1,2\\}$"]],
    ["numeric", "\\sqrt{2}", "1.41", "0.01"],
)


class _Deadline(BaseException):
    """Raised by the worker's timer; a BaseException so that math-verify's `except Exception` lets it pass."""


def _on_timer(signum: int, frame: Any) -> None:
    raise _Deadline


def serve() -> None:
    """The worker's loop: one JSON job per stdin line -> one JSON verdict per stdout line."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    from rlev_cli.verify.mathcheck import PHASE, run_job

    signal.signal(signal.SIGALRM, _on_timer)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    for warm_up in _WARM_UP:  # the grammar and sympy's first relational / set paths load lazily (~1 s)
        run_job(warm_up)
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        budget = float(request["budget"])
        try:
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                ok, reason = run_job(request["job"])
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Deadline:
            if PHASE[0] == "reference":  # the reference took the time: the item's fault, not the response's
                ok, reason = None, f"timeout parsing the reference (after {budget:g} s)"
            else:
                ok, reason = None, f"timeout after {budget:g} s"
            PHASE[0] = "response"
        except MemoryError:
            ok, reason = None, "refused: the check ran out of memory"
        except Exception as err:  # an exotic input that math-verify itself chokes on: ungraded, said why
            ok, reason = None, f"math check failed: {type(err).__name__}"
        out.write(json.dumps({"id": request["id"], "ok": ok, "reason": reason}) + "\n")
        out.flush()


class MathWorker:
    """The parent's handle on the worker; thread-safe (one batch at a time) and fork-aware."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()
        self._buffer = b""
        self.restarts = 0
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):  # a forked child starts its own worker, with a fresh lock
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._proc, self._pid, self._buffer = None, os.getpid(), b""

    def _start(self) -> None:
        # exactly the parent's rlev_cli: its package root first on the path, and -P keeps `-m` from putting
        # the current directory before it (run from another checkout, the child would import that one)
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else root
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "rlev_cli.verify.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._buffer = b""
        line = self._readline(time.monotonic() + STARTUP_TIMEOUT_S)
        if line is None or not json.loads(line).get("ready"):
            self._kill()
            raise RuntimeError("the math worker did not start")

    def _readline(self, deadline: float) -> bytes | None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:  # the worker died (e.g. killed for memory)
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _kill(self) -> None:
        if self._proc is not None:
            try:
                self._proc.kill()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            for stream in (self._proc.stdin, self._proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        self._proc = None

    def close(self) -> None:
        """Stop the worker (at exit, or to free it early)."""
        if self._proc is None or self._pid != os.getpid():
            return
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.close()  # the worker's loop ends on EOF
            self._proc.wait(timeout=1)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill()

    def run(self, jobs: list[list[Any]], timeout_s: float) -> list[Verdict]:
        """Verdicts for `jobs`, each bounded by `timeout_s` in the worker and 2x that + 0.25 s here."""
        with self._lock:
            if self._pid != os.getpid():  # forked without register_at_fork: never use the parent's pipes
                self._proc, self._pid, self._buffer = None, os.getpid(), b""
            results: list[Verdict | None] = [None] * len(jobs)
            position = 0
            while position < len(jobs):
                if self._proc is None or self._proc.poll() is not None:
                    try:
                        self._start()
                    except (OSError, RuntimeError) as err:
                        for i in range(position, len(jobs)):
                            results[i] = (None, f"math check unavailable: {err}")
                        break
                chunk: list[bytes] = []
                size = 0
                while position + len(chunk) < len(jobs) and (not chunk or size < _CHUNK_BYTES):
                    index = position + len(chunk)
                    line = json.dumps({"id": index, "job": jobs[index], "budget": timeout_s}) + "\n"
                    chunk.append(line.encode())
                    size += len(chunk[-1])
                position = self._send(chunk, position, timeout_s, results)
            return [r if r is not None else (None, "math check unavailable") for r in results]

    def _send(self, chunk: list[bytes], first: int, timeout_s: float, results: list[Verdict | None]) -> int:
        """Send a chunk and collect its verdicts; returns the index to continue from."""
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"".join(chunk))
            self._proc.stdin.flush()
        except OSError:
            self._kill()
            return first
        hard_limit = 2 * timeout_s + 0.25
        for index in range(first, first + len(chunk)):
            line = self._readline(time.monotonic() + hard_limit)
            if line is None:  # wedged in C code, or dead: this job is ungraded, the rest go to a new worker
                self._kill()
                self.restarts += 1
                results[index] = (None, f"timeout after {timeout_s:g} s (math worker restarted)")
                return index + 1
            reply = json.loads(line)
            results[reply["id"]] = (reply["ok"], reply["reason"])
        return first + len(chunk)


def grading_cores() -> int:
    """The cores free for grading: every core this process may run on but one (the training loop's)."""
    return max(1, cores() - 1)


class WorkerPool:
    """Several math workers, one per core: a batch's jobs are spread over them and run at once (a thread
    per worker only waits on its pipes; each worker keeps its own hard deadline, kill and restart). The
    workers start on first use, as many as a batch has jobs, up to `size`."""

    def __init__(self, size: int = 0) -> None:
        self._lock = threading.Lock()
        self.workers: list[MathWorker] = []
        self.size = size or grading_cores()
        if hasattr(os, "register_at_fork"):  # a lock held by another thread at fork time stays held
            os.register_at_fork(after_in_child=self._new_lock)

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    def resize(self, size: int) -> None:
        """Use `size` workers (0: the cores free); extra running workers are closed."""
        with self._lock:
            self.size = size or grading_cores()
            for worker in self.workers[self.size :]:
                worker.close()
            del self.workers[self.size :]

    def _take(self, n: int) -> list[MathWorker]:
        with self._lock:
            while len(self.workers) < min(n, self.size):
                self.workers.append(MathWorker())
            return self.workers[: min(n, self.size)]

    def run(self, jobs: list[list[Any]], timeout_s: float) -> list[Verdict]:
        """Verdicts for `jobs` in order, each bounded as `MathWorker.run` bounds it."""
        workers = self._take(len(jobs))
        if len(workers) <= 1:
            return (workers[0] if workers else self.first()).run(jobs, timeout_s)
        shares: list[list[Verdict]] = [[] for _ in workers]

        def work(k: int) -> None:
            shares[k] = workers[k].run(jobs[k :: len(workers)], timeout_s)

        threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(1, len(workers))]
        for thread in threads:
            thread.start()
        work(0)
        for thread in threads:
            thread.join()
        return [shares[i % len(workers)][i // len(workers)] for i in range(len(jobs))]

    def first(self) -> MathWorker:
        """The pool's first worker (started on first use)."""
        return self._take(1)[0]


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def math_pool(size: int | None = None) -> WorkerPool:
    """The process's math workers; `size` (0: the cores free) resizes them."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WorkerPool(size or 0)
        elif size is not None and (size or grading_cores()) != _POOL.size:
            _POOL.resize(size)
        return _POOL


def math_worker() -> MathWorker:
    """The process's first math worker (started on first use)."""
    return math_pool().first()


if __name__ == "__main__":
    serve()
