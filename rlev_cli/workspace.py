"""The workspace folder shared by all stages, and atomic file writes (one file, or a set of files)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting

DEFAULT_WORKSPACE = Path("rlev-workspace")
QUESTIONS_FILE = "questions.parquet"
REJECTS_FILE = "rejects.parquet"
MANIFEST_FILE = "manifest.json"
RUNS_DIR = "runs"


def default_workspace() -> Path:
    """$RLEV_WORKSPACE, else ./rlev-workspace (read when a config is made, so the Python API sees it too)."""
    return Path(os.environ.get("RLEV_WORKSPACE") or DEFAULT_WORKSPACE)


@dataclass
class WorkspaceSettings:
    """The one setting every stage shares: the workspace folder its files default to."""

    workspace: Path = setting(
        factory=default_workspace,
        flags=("--workspace", "-w"),
        envvar="RLEV_WORKSPACE",
        help="Folder shared by all stages [default: $RLEV_WORKSPACE, else ./rlev-workspace].",
    )


def resolve_workspace(path: Path | None) -> Path:
    """`--workspace`, else $RLEV_WORKSPACE, else ./rlev-workspace."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("RLEV_WORKSPACE") or DEFAULT_WORKSPACE)


def _file_mode() -> int:
    """The mode `open()` would give a new file under the user's umask (mkstemp's own is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _staging_path(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, _file_mode())
    return Path(tmp)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; move it into place only if the block succeeds.

    A crash leaves at most a `*.part` file, never a half-written file under the final name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staging_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(target: Path, payload: Any, indent: int | None = 2) -> None:
    with atomic_path(target) as tmp:
        write_json_file(tmp, payload, indent)


def write_json_file(path: Path, payload: Any, indent: int | None = 2) -> None:
    """Write JSON to `path` directly (a writer for `write_set`)."""
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=indent, default=str) + "\n", encoding="utf-8")


Writer = Callable[[Path], None]


def write_set(folder: Path, writers: Mapping[str, Writer]) -> list[Path]:
    """Write several files of one stage as a set: all from this run, or (on failure) all from the previous.

    `writers` maps each file name in `folder` to a function writing that file's content to the path it is
    given. Every file is first staged to a temporary in the same folder (where a full disk or any other
    failure shows up); only when all are staged are they renamed into place, in the given order (put the
    manifest last, so that a manifest always describes files beside it). A failure while staging removes
    the temporaries, leaves the previous files untouched, and is one error saying so.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in writers.items():
            target = folder / name
            tmp = _staging_path(target)
            staged.append((tmp, target))
            write(tmp)
    except OSError as err:
        _remove(staged)
        reason = err.strerror or str(err)
        raise RlevError(
            f"{folder}: writing {name} failed ({reason}); nothing was replaced, the previous "
            f"{', '.join(writers)} (if any) are unchanged"
        ) from err
    except BaseException:
        _remove(staged)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return [target for _, target in staged]


def _remove(staged: list[tuple[Path, Path]]) -> None:
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)
