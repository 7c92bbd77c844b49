"""The `rlev` command line: one small function per command; the work happens in each stage's core."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rlev_cli import __version__
from rlev_cli.config import IngestConfig, help_for
from rlev_cli.errors import RlevError
from rlev_cli.output import out

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False,
                  help="RLEV: train language models where a correct answer earns what its question is worth.")

Workspace = Annotated[Path | None, typer.Option("--workspace", "-w", envvar="RLEV_WORKSPACE", show_default=False,
                                                help="Folder shared by all stages [default: ./rlev-workspace].")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rlev {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")] = False) -> None:
    """RLEV: train language models where a correct answer earns what its question is worth."""


def _start(as_json: bool, debug: bool) -> None:
    out.use_json(as_json)
    if debug:
        os.environ["RLEV_DEBUG"] = "1"


def _workspace(workspace: Path | None) -> Path:
    from rlev_cli.workspace import resolve_workspace

    return resolve_workspace(workspace)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Exam files or folders (walked recursively).")],
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help=help_for(IngestConfig, "out"),
                                                 show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help=help_for(IngestConfig, "format"))] = "auto",
    total: Annotated[float | None, typer.Option(help=help_for(IngestConfig, "total"))] = None,
    totals: Annotated[Path | None, typer.Option(help=help_for(IngestConfig, "totals"))] = None,
    scheme: Annotated[Path | None, typer.Option(help=help_for(IngestConfig, "scheme"))] = None,
    field_map: Annotated[list[str] | None, typer.Option("--map", help=help_for(IngestConfig, "field_map"))] = None,
    total_from_sum: Annotated[bool, typer.Option(help=help_for(IngestConfig, "total_from_sum"))] = False,
    test_fraction: Annotated[float, typer.Option(help=help_for(IngestConfig, "test_fraction"))] = 0.1,
    seed: Annotated[int, typer.Option(help=help_for(IngestConfig, "seed"))] = 0,
    strict: Annotated[bool, typer.Option(help=help_for(IngestConfig, "strict"))] = False,
    workspace: Workspace = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Read exam papers into questions.parquet (value = points / exam total) and rejects.parquet."""
    _start(as_json, debug)
    from rlev_cli.ingest import run_ingest

    config = IngestConfig(out=out_dir or _workspace(workspace), format=fmt, total=total, totals=totals,
                          scheme=scheme, field_map=_parse_map(field_map or []), total_from_sum=total_from_sum,
                          test_fraction=test_fraction, seed=seed, strict=strict)
    with out.progress(None, "reading exams") as advance:
        result = run_ingest(paths, config, progress=advance)
    for warning in result.warnings:
        out.warn(warning)
    if result.n_rejects:
        out.warn(f"{result.n_rejects} record(s) rejected, reasons in {result.rejects_path}")
    out.summary("ingest", records_in=result.n_records, questions=result.n_questions, rejects=result.n_rejects,
                exams=result.n_exams, train=result.n_train, test=result.n_test, formats=result.formats,
                questions_path=str(result.questions_path), rejects_path=str(result.rejects_path),
                manifest_path=str(result.manifest_path),
                tables={"reject_reasons": [{"reason": k, "count": v} for k, v in result.reject_reasons.items()]})


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        key, sep, column = item.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise RlevError(f"--map {item!r}: expected KEY=COLUMN, e.g. --map question=problem")
        mapping[key.strip()] = column.strip()
    return mapping


def main() -> None:
    """Console entry point: user errors as one line and exit 1; bugs keep their traceback."""
    try:
        app(standalone_mode=True)
    except RlevError as err:
        if os.environ.get("RLEV_DEBUG"):
            raise
        out.error(str(err))
        raise SystemExit(1) from None
