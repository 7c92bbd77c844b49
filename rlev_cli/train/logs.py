"""What a run writes besides the model: metrics.parquet and rollouts.parquet (TRL's RLOOTrainer writes
no completions file, so the reward function feeds this log for every algorithm)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from transformers import TrainerCallback

from rlev_cli.schema import write_table

ROLLOUTS = pa.schema(
    [
        ("step", pa.int64()),
        ("id", pa.string()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
        ("value", pa.float64()),
        ("correct", pa.bool_()),
        ("reward", pa.float64()),
        ("advantage", pa.float64()),
        ("length", pa.int64()),
    ]
)


class RolloutLog:
    """Sampled rollouts (every `every` steps), kept in memory and written before each checkpoint and at the
    end (rewriting the growing file at every logged step made long runs quadratic in I/O). Each process
    logs its own completions; `flush` gathers them so the main process writes every one."""

    def __init__(self, path: Path, every: int = 1, max_chars: int = 4000, keep_until: int | None = None) -> None:
        self.path = Path(path)
        self.every = every
        self.max_chars = max_chars
        self.written: list[dict[str, Any]] = []  # every process's rows up to the last flush (main process)
        self.recent: list[dict[str, Any]] = []  # this process's rows since the last flush
        self._pending: list[dict[str, Any]] = []
        if keep_until is not None and self.path.exists():  # resumed: keep what the checkpoint covers
            import pyarrow.parquet as pq

            self.written = [r for r in pq.read_table(self.path).to_pylist() if r["step"] <= keep_until]

    def add(self, state, prompts, completions, ids, values, graded, rewards, lengths) -> None:
        step = int(getattr(state, "global_step", 0) or 0) + 1
        self._pending = []
        if (step - 1) % self.every:
            return
        for i, text in enumerate(completions):
            prompt = prompts[i][-1]["content"] if isinstance(prompts[i], list) else str(prompts[i])
            row = {
                "step": step,
                "id": ids[i] if ids else None,
                "prompt": prompt[: self.max_chars],
                "completion": text[: self.max_chars],
                "value": float(values[i]),
                "correct": None if graded[i] is None else bool(graded[i]),
                "reward": rewards[i],
                "advantage": None,
                "length": int(lengths[i]),
            }
            self._pending.append(row)
            self.recent.append(row)

    def set_advantages(self, advantages: list[float]) -> None:
        if len(advantages) == len(self._pending):
            for row, advantage in zip(self._pending, advantages, strict=True):
                row["advantage"] = advantage
        self._pending = []

    def stats(self, step: int) -> dict[str, float]:
        """Reward, length, accuracy on low/high-value prompts of the last step (progress columns)."""
        rows = []
        for row in reversed(self.recent):  # rows are in step order: read back the last step only
            if row["step"] != step:
                break
            rows.append(row)
        if not rows:
            return {}
        graded = [r for r in rows if r["correct"] is not None]
        values = sorted(r["value"] for r in graded) or [0.0]
        mid = values[len(values) // 2]
        low = [r["correct"] for r in graded if r["value"] < mid] or [False]
        high = [r["correct"] for r in graded if r["value"] >= mid] or [False]
        return {
            "reward": sum(r["reward"] or 0.0 for r in rows) / len(rows),
            "len": sum(r["length"] for r in rows) / len(rows),
            "acc_low_v": sum(low) / len(low),
            "acc_high_v": sum(high) / len(high),
        }

    def flush(self, is_main: bool = True) -> None:
        """Gather every process's recent rows and write the file from the main process. In a multi-process
        run every process must call this at the same point (a collective; a no-op in one process)."""
        from accelerate.utils import gather_object

        rows, self.recent = self.recent, []
        rows = sorted(gather_object(rows), key=lambda row: row["step"])  # stable: rank order within a step
        if is_main:
            self.written.extend(rows)
            write_table(pa.Table.from_pylist(self.written, schema=ROLLOUTS), self.path, "rollouts")


class RunLogCallback(TrainerCallback):
    """metrics.parquet (one row per logged step), rollouts written before each checkpoint, progress advanced."""

    def __init__(self, run_dir: Path, rollout_log: RolloutLog, advance=None, keep_until: int | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.rollout_log = rollout_log
        self.advance = advance
        self.metrics: list[dict[str, Any]] = []
        existing = self.run_dir / "metrics.parquet"
        if keep_until is not None and existing.exists():  # resumed: keep what the checkpoint covers
            import pyarrow.parquet as pq

            self.metrics = [m for m in pq.read_table(existing).to_pylist() if m["step"] <= keep_until]

    def on_step_end(self, args, state, control, **kwargs):
        if self.advance:
            self.advance(1, **self.rollout_log.stats(state.global_step))
        # The Trainer saves right after this hook: rollouts on disk then always cover the checkpoint that a
        # --resume starts from (rows after it are dropped on resume anyway).
        if control.should_save:
            self.rollout_log.flush(state.is_world_process_zero)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch}
        row.update({k: float(v) for k, v in logs.items() if isinstance(v, int | float)})
        self.metrics = [m for m in self.metrics if m["step"] != state.global_step or "train_runtime" in m] + [row]
        self._write()

    def on_train_end(self, args, state, control, **kwargs):
        self.rollout_log.flush(state.is_world_process_zero)
        if state.is_world_process_zero:
            self._write()

    def _write(self) -> None:
        keys: list[str] = []
        for row in self.metrics:
            keys.extend(k for k in row if k not in keys)
        table = pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in self.metrics])
        write_table(table, self.run_dir / "metrics.parquet", "metrics")
