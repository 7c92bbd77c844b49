"""What a run writes besides the model: metrics.parquet and rollouts.parquet, from a trainer callback.

The rollout rows come from the trainer (`trainers._RecordsRollouts`): TRL gathers each generation batch's
prompts, completions, rewards and the reward's `log_extra` columns from every process; the trainer adds
the advantages it used and the completion lengths. TRL's RLOOTrainer writes no completions file, so this
log serves every algorithm the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from rlev_cli.schema import write_table

# advance(n_steps, **rollout stats): the command's progress bar
Progress = Callable[..., Any]

ROLLOUTS = pa.schema(
    [
        ("step", pa.int64()),  # the first optimizer step that trains on this rollout batch
        ("id", pa.string()),
        ("prompt", pa.string()),  # the question (the last user turn)
        ("rendered_prompt", pa.string()),  # what the policy was given: its chat template, system turn included
        ("completion", pa.string()),
        ("value", pa.float64()),
        ("correct", pa.bool_()),  # null = ungraded (reward None, advantage 0)
        ("verdict", pa.string()),  # who graded: rule, judge, or none
        ("ungraded_reason", pa.string()),
        ("ungraded_cause", pa.string()),  # reference | grader (correct null) | response (correct false: wrong)
        ("reward", pa.float64()),
        ("advantage", pa.float64()),  # per-token advantages (REINFORCE++): their mean over the completion
        ("length", pa.int64()),
    ]
)


class RolloutLog:
    """Rollout rows (every `every` steps) of the main process, kept in memory and written before each
    checkpoint and at the end (rewriting the growing file at every step made long runs quadratic in I/O)."""

    def __init__(self, path: Path, every: int = 1, max_chars: int = 4000, keep_until: int | None = None) -> None:
        self.path = Path(path)
        self.every = every
        self.max_chars = max_chars
        self.written: list[dict[str, Any]] = []  # rows up to the last flush
        self.recent: list[dict[str, Any]] = []  # rows since the last flush
        self.last_batch: list[dict[str, Any]] = []
        self.n_completions = 0  # every completion sampled in the run (a resumed run: its kept rows too)
        self.n_ungraded = 0
        self.ungraded_reasons: dict[str, int] = {}
        self.n_ungraded_response = 0  # ungraded because of the response: reward 0, counted as wrong
        self.ungraded_response_reasons: dict[str, int] = {}
        if keep_until is not None and self.path.exists():  # resumed: keep what the checkpoint covers
            import pyarrow.parquet as pq

            self.written = [r for r in pq.read_table(self.path).to_pylist() if r["step"] <= keep_until]
            self._count(self.written)  # the counts are the run's, not this session's (every=1 logs every row)

    def add_batch(self, step: int, rows: list[dict[str, Any]]) -> None:
        """One generation batch, gathered from every process (rows with the ROLLOUTS keys but `step`)."""
        self._count(rows)
        self.last_batch = []
        if (step - 1) % self.every:
            return
        for row in rows:
            row = {**row, "step": step}
            row["prompt"] = (row["prompt"] or "")[: self.max_chars]
            row["rendered_prompt"] = (row.get("rendered_prompt") or "")[: self.max_chars]
            row["completion"] = (row["completion"] or "")[: self.max_chars]
            self.last_batch.append(row)
            self.recent.append(row)

    def _count(self, rows: list[dict[str, Any]]) -> None:
        """Add sampled completions to the run's counts: ungraded ones (left out) and ungraded-response ones."""
        self.n_completions += len(rows)
        for row in rows:
            if row["correct"] is None:
                self.n_ungraded += 1
                reason = row.get("ungraded_reason") or "ungraded"
                self.ungraded_reasons[reason] = self.ungraded_reasons.get(reason, 0) + 1
            elif row.get("ungraded_cause") == "response":
                self.n_ungraded_response += 1
                reason = row.get("ungraded_reason") or "ungraded"
                self.ungraded_response_reasons[reason] = self.ungraded_response_reasons.get(reason, 0) + 1

    def stats(self) -> dict[str, float]:
        """Reward, length, accuracy on low/high-value prompts of the last rollout batch (progress columns)."""
        rows = self.last_batch
        if not rows:
            return {}
        graded = [r for r in rows if r["correct"] is not None]
        values = sorted(r["value"] for r in graded) or [0.0]
        mid = values[len(values) // 2]
        low = [r["correct"] for r in graded if r["value"] < mid] or [False]
        high = [r["correct"] for r in graded if r["value"] >= mid] or [False]
        scored = [r["reward"] for r in rows if r["reward"] is not None] or [0.0]
        return {
            "reward": sum(scored) / len(scored),
            "len": sum(r["length"] for r in rows) / len(rows),
            "acc_low_v": sum(low) / len(low),
            "acc_high_v": sum(high) / len(high),
        }

    def flush(self, is_main: bool = True) -> None:
        """Write every row so far (main process only; the rows are already gathered)."""
        rows, self.recent = self.recent, []
        if is_main:
            self.written.extend(rows)
            write_table(pa.Table.from_pylist(self.written, schema=ROLLOUTS), self.path, "rollouts")


class AtLastStep(Exception):
    """A resumed run whose checkpoint is already at --max-steps: the Trainer would train one more step before it
    checks (a run killed while writing its model came back with steps 4 of 3). Raised when training begins, once
    the checkpoint's weights and state are loaded; `train_here` then finishes the run from them."""


class RunLogCallback(TrainerCallback):
    """metrics.parquet (one row per logged step), rollouts written before each checkpoint, progress advanced.

    The Trainer's end-of-run log (train_runtime, train_loss, ...) is kept apart in `summary`: it carries
    the last step's number and used to overwrite that step's metrics row."""

    def __init__(
        self, run_dir: Path, rollout_log: RolloutLog, advance: Progress | None = None, keep_until: int | None = None
    ) -> None:
        self.run_dir = Path(run_dir)
        self.rollout_log = rollout_log
        self.advance = advance
        self.metrics: list[dict[str, Any]] = []
        self.summary: dict[str, float] = {}
        existing = self.run_dir / "metrics.parquet"
        if keep_until is not None and existing.exists():  # resumed: keep what the checkpoint covers
            import pyarrow.parquet as pq

            self.metrics = [m for m in pq.read_table(existing).to_pylist() if m["step"] <= keep_until]

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # A resumed Trainer takes save/logging/eval_steps from the checkpoint's trainer_state.json, over the
        # arguments; a --save-steps or --logging-steps changed on --resume applies from the arguments, as in a new run.
        state.compute_steps(args, state.max_steps)
        if 0 < state.max_steps <= state.global_step:
            raise AtLastStep(state.global_step)
        if self.advance:  # the total is known now; step times start here, not at the model load
            self.advance(0, total=state.max_steps, timed=False)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.advance:  # a line per logged step where no bar is shown (output.StepLines)
            log = control.should_log or control.should_training_stop or state.global_step >= state.max_steps
            self.advance(1, log=log, total=state.max_steps, **self.rollout_log.stats())
        # The Trainer saves right after this hook: rollouts on disk then always cover the checkpoint that a
        # --resume starts from (rows after it are dropped on resume anyway).
        if control.should_save:
            self.rollout_log.flush(state.is_world_process_zero)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        numbers = {k: float(v) for k, v in logs.items() if isinstance(v, int | float)}
        if "train_runtime" in logs:  # the end-of-run summary, not a step
            self.summary = numbers
            return
        row = {"step": state.global_step, "epoch": state.epoch, **numbers}
        same = [m for m in self.metrics if m["step"] == state.global_step]
        if same and any(k.startswith("eval_") for k in numbers) != any(k.startswith("eval_") for k in same[-1]):
            row = {**same[-1], **row}  # --eval-steps: the step's eval log joins its train log, one row a step
        self.metrics = [m for m in self.metrics if m["step"] != state.global_step] + [row]
        self._write()

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.rollout_log.flush(state.is_world_process_zero)
        if state.is_world_process_zero:
            self._write()

    def _write(self) -> None:
        keys: list[str] = []
        for row in self.metrics:
            keys.extend(k for k in row if k not in keys)
        table = pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in self.metrics])
        write_table(table, self.run_dir / "metrics.parquet", "metrics")
