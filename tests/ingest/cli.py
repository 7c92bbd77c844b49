"""Run `rlev ingest` as a user does (Typer's CliRunner over the real app) and read what it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """The one `Error:` line (RlevError goes through main(); under CliRunner it is the exception)."""
        return self.stderr

    def summary(self) -> dict:
        return json.loads(self.stdout)


def rlev_ingest(*args: str | Path) -> Run:
    """`rlev ingest ARGS... --json`; a user error comes back as exit 1 with its message (as main() prints)."""
    from rlev_cli.errors import RlevError

    result = CliRunner().invoke(app, ["ingest", *map(str, args), "--json"])
    if isinstance(result.exception, RlevError):
        return Run(1, result.stdout, f"Error: {result.exception}")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def outputs(folder: Path) -> tuple[list[dict], list[dict], dict]:
    questions = pq.read_table(folder / "questions.parquet").to_pylist()
    rejects = pq.read_table(folder / "rejects.parquet").to_pylist()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return questions, rejects, manifest
