"""All terminal output goes through the module-level `out`: human (rich) or JSON mode.

Data goes to stdout; progress, warnings and errors to stderr, so `rlev ... --json | jq` stays clean.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class Output:
    """Human or JSON output; the mode is set by flags only, never guessed from the terminal."""

    def __init__(self) -> None:
        self.json_mode = False
        self.warnings: list[str] = []
        self._plain_for: Any = None  # the stderr stream `_plain` was found for
        self._plain = False
        self.bars = True  # --no-progress: no live bar, plain step lines where a command has them

    def use_json(self, enabled: bool) -> None:
        self.json_mode = enabled
        self.warnings = []

    def use_bars(self, enabled: bool) -> None:
        """`--no-progress`: plain lines (a batch system's log) even on a terminal."""
        self.bars = enabled

    def _stderr(self) -> Any:  # created lazily so importing rlev_cli.output stays cheap
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def summary(
        self, command: str, tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None, **fields: Any
    ) -> None:
        """Print the final result: a key/value table (+ optional row tables), or one JSON object."""
        if self.json_mode:
            payload = {"command": command, **fields}
            if tables:
                payload.update(tables)
            if self.warnings:
                payload["warnings"] = list(self.warnings)
            sys.stdout.write(json.dumps(_jsonable(payload), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        from rich.table import Table

        console = _stdout_console()
        table = Table(title=f"rlev {command}", show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in fields.items():
            if isinstance(value, Mapping):
                value = ", ".join(f"{k}={_fmt(v)}" for k, v in value.items()) or "-"
            table.add_row(key, _fmt(value))
        console.print(table)
        for title, rows in (tables or {}).items():
            self.rows(title, rows, console=console)

    def rows(self, title: str, rows: Sequence[Mapping[str, Any]], console: Any = None) -> None:
        """A table of records (one column per key of the first row)."""
        if not rows or self.json_mode:
            return
        from rich.table import Table

        console = console or _stdout_console()
        table = Table(title=title, title_justify="left")
        for key in rows[0]:
            table.add_column(str(key), justify="right" if isinstance(rows[0][key], int | float) else "left")
        for row in rows:
            table.add_row(*(_fmt(row.get(k)) for k in rows[0]))
        console.print(table)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._plain_stderr() and _renders_as_itself(message):
            # What rich would print on a pipe or file, written directly: an ingest may warn 20,000 times and
            # a rich print costs ~0.4 ms (8 s of a 1M-row ingest).
            sys.stderr.write(f"Warning: {message}\n")
            return
        self._stderr().print(f"[yellow]Warning:[/yellow] {_escape(message)}")

    def _plain_stderr(self) -> bool:
        """Whether rich prints plain text on the current stderr (no terminal, no colours), asked once per stream."""
        if self._plain_for is not sys.stderr:
            console = self._stderr()
            self._plain, self._plain_for = not console.is_terminal and console.color_system is None, sys.stderr
        return self._plain

    def info(self, message: str) -> None:
        """A progress line on stderr (silent in JSON mode)."""
        if not self.json_mode:
            self._stderr().print(_escape(message))

    def error(self, message: str) -> None:
        self._stderr().print(f"[red]Error:[/red] {_escape(message)}")

    @contextmanager
    def progress(self, total: int | None, label: str, lines: bool = False) -> Iterator[Any]:
        """A rich progress bar on stderr on a terminal (silent in JSON mode). Yields `advance(n=1, **columns)`;
        `advance(..., total=N)` sets the total once it is known.

        With `lines`, where no bar is shown (stderr is a file or pipe, or `--no-progress`), each
        `advance(..., log=True, **columns)` writes one plain line instead, `label step 3/8  columns  step_time
        eta`, and the end writes `label: 8/8 steps in 41.2 s`: what a SLURM log or `tail -f` can follow."""
        if self.json_mode:
            yield lambda n=1, **_: None
            return
        console = self._stderr()
        if lines and not (console.is_terminal and self.bars):
            steps = StepLines(label, total)
            yield steps
            steps.finish()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # Live bars only on a terminal: logs and pipes get the summary, not bar frames.
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[extra]}"),
            console=console,
            transient=False,
            disable=not (console.is_terminal and self.bars),
        ) as bar:
            task = bar.add_task(label, total=total, extra="")

            def advance(
                n: int = 1, log: bool = True, total: int | None = None, timed: bool = True, **columns: Any
            ) -> None:
                extra = "  ".join(f"{k}={_fmt(v)}" for k, v in columns.items())
                if total:
                    bar.update(task, total=total)
                bar.update(task, advance=n, extra=extra)

            yield advance


class StepLines:
    """Progress as plain lines on stderr, one per logged step, flushed at once (for logs and pipes)."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total = label, total
        self.done = 0
        self.timed = 0  # steps run in this process (not the steps a resumed run starts after)
        self.since_line = 0
        self.started = self.last = time.perf_counter()

    def __call__(
        self, n: int = 1, log: bool = False, total: int | None = None, timed: bool = True, **columns: Any
    ) -> None:
        now = time.perf_counter()
        if total:
            self.total = total
        self.done += n
        if not timed:  # e.g. the steps a resumed run starts after
            self.started = self.last = now
            return
        self.timed += n
        self.since_line += n
        if not log:
            return
        step_time = (now - self.last) / self.since_line
        self.last, self.since_line = now, 0
        parts = [f"{self.label} step {self.done}/{self.total or '?'}"]
        parts += [f"{k}={_fmt(v)}" for k, v in columns.items()]
        parts.append(f"step_time={step_time:.2f}s")
        if self.total:
            left = (now - self.started) / self.timed * max(self.total - self.done, 0)
            parts.append(f"eta={_clock(left)}")
        sys.stderr.write("  ".join(parts) + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(f"{self.label}: {self.done}/{self.total or self.done} steps in {elapsed:.1f} s\n")
        sys.stderr.flush()


def _clock(seconds: float) -> str:
    """0:01:05 for 65 s."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


_EMOJI_CODE = re.compile(r":\S*?:")  # rich would replace a known :name: by its emoji


def _renders_as_itself(message: str) -> bool:
    """Printable text without edge whitespace or emoji codes: rich prints it unchanged (soft wrap)."""
    return message.isprintable() and message == message.strip() and not _EMOJI_CODE.search(message)


def _stdout_console() -> Any:
    """A console for stdout: the terminal's width on a terminal; piped to a file or another program, wide
    enough that no table is cut or wrapped at 80 columns."""
    from rich.console import Console

    wide = None if sys.stdout.isatty() else 1_000
    return Console(highlight=False, width=wide)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return str(value)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


out = Output()
