"""All terminal output goes through the module-level `out`: human (rich) or JSON mode.

Data goes to stdout; progress, warnings and errors to stderr, so `rlev ... --json | jq` stays clean.
"""

from __future__ import annotations

import json
import re
import sys
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

    def use_json(self, enabled: bool) -> None:
        self.json_mode = enabled
        self.warnings = []

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
    def progress(self, total: int | None, label: str) -> Iterator[Any]:
        """A rich progress bar on stderr (silent in JSON mode). Yields `advance(n=1, **columns)`."""
        if self.json_mode:
            yield lambda n=1, **_: None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = self._stderr()
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
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task(label, total=total, extra="")

            def advance(n: int = 1, **columns: Any) -> None:
                extra = "  ".join(f"{k}={_fmt(v)}" for k, v in columns.items())
                bar.update(task, advance=n, extra=extra)

            yield advance


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
