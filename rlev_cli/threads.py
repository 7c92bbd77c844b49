"""How many CPU threads torch uses: one rule, declared once, for every command that runs a model.

torch starts one thread per core it can see, whatever else the machine is doing. On a shared machine that
oversubscribes the cores and every thread waits on the others: on 2 cores under a load of 3.5 the
quickstart's `rlev evaluate` took 4 minutes instead of 30 s, and a training step of the demo's model
3.6 s instead of 0.24 s (docs/paper-effect.md). The rule (docs/training.md, "Threads"):

1. `--threads N` when given;
2. 1 for a model whose weights are under 10 MB (the tiny model, the demo's): its matrices are too small
   for thread hand-offs to pay;
3. else the cores free now: the cores this process may run on (`os.sched_getaffinity`) minus the
   1-minute load average (`os.getloadavg`), rounded, at least 1, shared among the run's processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting
from rlev_cli.tiny import is_tiny

SMALL_MODEL_BYTES = 10 * 2**20
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


@dataclass
class ThreadSettings:
    """The one thread setting of every command that runs torch (train, evaluate, analyze, demo)."""

    threads: int | None = setting(
        None,
        help="torch CPU threads [default: 1 for a model under 10 MB, else the cores free now (cores minus the "
        "1-minute load average, at least 1); docs/training.md#threads].",
    )

    def __post_init__(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise RlevError(f"--threads {self.threads}: must be >= 1")


def cores() -> int:
    """The cores this process may run on (a batch system's CPU set, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows; a process whose affinity cannot be read
        return os.cpu_count() or 1


def free_cores(load: float | None = None, available: int | None = None) -> int:
    """Cores minus the 1-minute load average, rounded, at least 1 and at most the cores.

    >>> free_cores(load=3.5, available=2), free_cores(load=0.2, available=2), free_cores(load=5.6, available=16)
    (1, 2, 10)
    """
    available = cores() if available is None else available
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # not available on this platform
            load = 0.0
    return max(1, min(available, round(available - load)))


def is_small_model(model: str | Path | None) -> bool:
    """Whether a local model's weight files total under 10 MB (a hub id, unknown size: no)."""
    if model is None:
        return False
    if is_tiny(model):
        return True
    path = Path(model)
    if path.is_file():
        return path.stat().st_size < SMALL_MODEL_BYTES
    if not path.is_dir():
        return False
    weights = [p.stat().st_size for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file()]
    return bool(weights) and sum(weights) < SMALL_MODEL_BYTES


def torch_threads(requested: int | None, model: str | Path | None = None, processes: int = 1) -> int:
    """The thread count of the rule above (`processes`: the run's processes on this machine)."""
    if requested:
        return requested
    if is_small_model(model):
        return 1
    return max(1, free_cores() // max(1, processes))


def set_torch_threads(requested: int | None, model: str | Path | None = None, processes: int = 1) -> int:
    """Apply the rule to torch (intra-op threads) and return the count."""
    import torch

    n = torch_threads(requested, model, processes)
    torch.set_num_threads(n)
    return n
