"""The workspace folder shared by all stages, its lock, and atomic file writes (one file, or a set of files)."""

from __future__ import annotations

import fcntl
import glob
import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
LOCK_FILE = ".rlev.lock"


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


def write_set(folder: Path, writers: Mapping[str, Writer], drop: Sequence[str] = ()) -> list[Path]:
    """Write several files of one stage as a set: all from this run, or (on failure) all from the previous.

    `writers` maps each file name in `folder` to a function writing that file's content to the path it is
    given. Every file is first staged to a temporary in the same folder (where a full disk or any other
    failure shows up); only when all are staged are they renamed into place, in the given order (put the
    manifest last, so that a manifest always describes files beside it). A failure while staging removes
    the temporaries, leaves the previous files untouched, and is one error saying so. Files named in `drop`
    belong to the set but not to this run's (a plot with nothing to plot): removed with the renames.
    """
    folder = Path(folder)
    return write_files({folder / name: write for name, write in writers.items()}, [folder / name for name in drop])


def write_files(writers: Mapping[Path, Writer], drop: Sequence[Path] = ()) -> list[Path]:
    """`write_set` for files that may sit in different folders: each staged beside its target, then all
    renamed in the given order, with Ctrl-C held back during the renames (a set is never half replaced by
    an interrupt; a kill can still stop it between two renames)."""
    folders = [target for target in writers if target.is_dir()]
    if folders:  # the rename would fail after every file is staged, leaving the temporaries behind
        raise RlevError(f"{folders[0]}: is a folder; give a file path")
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = _staging_path(target)
            staged.append((tmp, target))
            write(tmp)
    except OSError as err:
        _remove(staged)
        reason = err.strerror or str(err)
        names = ", ".join(t.name for t in writers)
        folder = target.parent
        raise RlevError(
            f"{folder}: writing {target.name} failed ({reason}); nothing was replaced, the previous "
            f"{names} (if any) are unchanged"
        ) from err
    except BaseException:
        _remove(staged)
        raise
    with _interrupt_deferred():
        for done, (tmp, target) in enumerate(staged):
            try:
                os.replace(tmp, target)
            except OSError:
                _remove(staged[done:])  # what was not renamed in; the files renamed before stay
                raise
        for path in drop:
            path.unlink(missing_ok=True)
    return [target for _, target in staged]


@contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold a SIGINT (Ctrl-C) until the block ends, then raise it (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _remove(staged: list[tuple[Path, Path]]) -> None:
    for tmp, _ in staged:
        tmp.unlink(missing_ok=True)


# -- the workspace lock -------------------------------------------------------------------------------
#
# Commands that rewrite a folder's shared files (`ingest`: questions/rejects/manifest; `predict-values`:
# the table it labels, its report and model) hold an advisory lock on FOLDER/.rlev.lock for their whole run,
# from the first read to the last rename. It is `flock`: the kernel drops it when the holder exits or is
# killed (kill -9 included), so a crash never leaves a stale lock. A second writer fails at once with one
# line naming the holder (the file holds its command, pid, host and start time). Readers take no lock:
# every file is replaced by a rename, so a reader that opens a file reads one whole version of it.

# (folder, thread) -> depth: the same thread may take a folder's lock again (nested); another thread of this
# process opens its own descriptor, which flock treats as another holder.
_held: dict[tuple[Path, int], int] = {}


class WorkspaceLocked(RlevError):
    """Another process holds the folder's lock."""


@contextmanager
def workspace_lock(
    folder: Path, command: str, files: Sequence[str] = (), wait: bool = False, elsewhere: str = "another --workspace"
) -> Iterator[None]:
    """Hold FOLDER/.rlev.lock while the block runs.

    Args:
        folder: the folder whose shared files the block writes (created if missing).
        command: what the holder is doing, for the message a second writer sees (e.g. "rlev ingest").
        files: the names the block writes in `folder`: their staging files left by a killed writer
            (`.NAME.xxxxxxxx.part`) are removed once the lock is held (one warning).
        wait: wait for the holder instead of failing (one message on stderr saying whom it waits for).
        elsewhere: what the refused command can use instead, for its message ("another --output").

    Raises:
        WorkspaceLocked: when another process holds the lock and `wait` is False.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = (folder.resolve(), threading.get_ident())
    if key in _held:  # nested in this thread: flock would conflict with our own other descriptor
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, _file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise WorkspaceLocked(
                    f"{folder} is locked by {holder}, which is writing its files; wait for it to finish, "
                    f"or use {elsewhere}"
                ) from None
            from rlev_cli.output import out

            out.warn(f"waiting for {folder}: locked by {holder}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        me = {"command": command, "pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        _held[key] = 1
        removed = _remove_stale_parts(folder, files)
        if removed:
            from rlev_cli.output import out

            out.warn(
                f"{folder}: removed {len(removed)} staging file(s) left by an interrupted write "
                f"({', '.join(removed[:3])}{', ...' if len(removed) > 3 else ''})"
            )
        try:
            yield
        finally:
            del _held[key]
            os.ftruncate(fd, 0)  # the lock is free: no holder to name
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def _holder(path: Path) -> str:
    """`rlev ingest (pid 123 on host, since 12:00:01)` from the lock file; the holder writes it right after
    taking the lock, so an empty file is read again briefly."""
    for _ in range(20):
        try:
            info = json.loads(path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict):
            host = "" if info.get("host") == socket.gethostname() else f" on {info.get('host')}"
            return f"`{info.get('command')}` (pid {info.get('pid')}{host}, since {info.get('since')})"
        time.sleep(0.01)
    return "another process (its command and pid are not recorded)"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _remove_stale_parts(folder: Path, names: Sequence[str]) -> list[str]:
    """Staging files of `names` (`.NAME.xxxxxxxx.part`, see `_staging_path`) a killed writer left in
    `folder`. Only the lock holder stages these files, so under the lock every one of them is an orphan."""
    removed = []
    for name in names:
        for stale in sorted(folder.glob(f".{glob.escape(name)}.????????.part")):
            if stale.is_file() and not stale.is_symlink():
                stale.unlink(missing_ok=True)
                removed.append(stale.name)
    return removed
