"""The workspace folder shared by all stages, and atomic file writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_WORKSPACE = Path("rlev-workspace")
QUESTIONS_FILE = "questions.parquet"
REJECTS_FILE = "rejects.parquet"
MANIFEST_FILE = "manifest.json"
RUNS_DIR = "runs"


def resolve_workspace(path: Path | None) -> Path:
    """`--workspace`, else $RLEV_WORKSPACE, else ./rlev-workspace."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("RLEV_WORKSPACE") or DEFAULT_WORKSPACE)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; move it into place only if the block succeeds.

    A crash leaves at most a `*.part` file, never a half-written file under the final name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(target: Path, payload: Any, indent: int | None = 2) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=indent, default=str) + "\n", encoding="utf-8")
