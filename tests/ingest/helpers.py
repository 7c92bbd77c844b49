"""`rlev ingest` through the command line (as a user runs it), options given as IngestConfig names."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests.ingest.cli import outputs, rlev_ingest


def ingest(paths, out: Path, **options):
    """Run `rlev ingest PATHS -o OUT --json` with `options` as flags; return (summary, questions, rejects,
    manifest). A run that fails raises AssertionError with its error line."""
    args: list[str | Path] = [*paths, "-o", out]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "field_map":
            for key, column in value.items():
                args += ["--map", f"{key}={column}"]
        elif value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    run = rlev_ingest(*args)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(out)
    return SimpleNamespace(**run.summary()), questions, rejects, manifest
