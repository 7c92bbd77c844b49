"""`out.warn` writes plain warnings itself on a pipe: the bytes must be what rich would have printed."""

from __future__ import annotations

import io

from rich.console import Console

from rlev_cli.output import Output, _escape

MESSAGES = [
    "exam 'gaokao-2000-卷00000': its questions carry 374 points, more than its total 300 (wrong labels?)",
    "[bold]not markup[/bold] \\[x]",
    "中文" * 120,  # longer than any terminal: soft wrap, never cut
    "a :smile: emoji code",  # rich's own path (it would turn this into an emoji)
    "tab\there",  # rich's own path (it expands tabs)
    "3 record(s) rejected, reasons in /tmp/x/rejects.parquet",
]


def rich_text(message: str) -> str:
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, soft_wrap=True).print(f"[yellow]Warning:[/yellow] {_escape(message)}")
    return buffer.getvalue()


def test_warn_on_a_pipe_prints_what_rich_prints(capsys) -> None:
    output = Output()
    for message in MESSAGES:
        output.warn(message)
    assert capsys.readouterr().err == "".join(rich_text(m) for m in MESSAGES)
    assert output.warnings == MESSAGES
    assert rich_text(MESSAGES[0]) == f"Warning: {MESSAGES[0]}\n"  # the direct write is the common case
