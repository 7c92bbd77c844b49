"""Finding input files (and a text paper's answer file), decoding text, parsing JSON/YAML."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path, PurePath
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.ingest.records import UnusableFile

ANSWER_SUFFIXES = (".answers.txt", ".answers.md", ".key.txt")
EXTENSIONS = {".json", ".jsonl", ".csv", ".parquet", ".yaml", ".yml", ".txt", ".md"}


def display(path: Path) -> str:
    if path.is_symlink() and not path.exists():  # a broken link is named as the link, not as where it points
        return str(Path(display(path.parent)) / path.name)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_inputs(paths: list[Path], warnings: list[str] | None = None) -> list[tuple[Path, PurePath]]:
    """Files given, plus the exam files found recursively in folders (sorted, hidden files skipped), each
    with its name below the path given (what a release's train/test and en/zh names are read from).
    Symlinked folders are followed; one that leads back to a folder above it (a loop) is not walked
    again, and `warnings` gets one line for all of them."""
    found: list[tuple[Path, PurePath]] = []
    loops: list[str] = []
    for path in paths:
        if not path.exists():
            raise RlevError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in _walk(path, loops):
                if (
                    child.suffix.lower() in EXTENSIONS
                    and not is_answer_file(child)
                    and child.name.upper() not in ("README.MD", "SOURCES.MD", "LICENSE.MD")
                ):
                    found.append((child, PurePath(child.relative_to(path))))
        else:
            found.append((path, PurePath(path.name)))
    seen: set[Path] = set()
    again: list[str] = []
    once: list[tuple[Path, PurePath]] = []
    for file, name in found:  # `exams/ exams/a.json`, or one path twice: read once, not rejected twice
        real = file.resolve()
        if real in seen:
            again.append(display(file))
            continue
        seen.add(real)
        once.append((file, name))
    found = once
    if again and warnings is not None:
        warnings.append(
            f"{len(again)} file(s) reached more than once (named twice, or linked twice) were read once: "
            f"{', '.join(again[:3])}"
            f"{', ...' if len(again) > 3 else ''}"
        )
    if loops and warnings is not None:
        warnings.append(
            f"{len(loops)} symlinked folder(s) lead back to a folder above them and were not walked again "
            f"(a loop): {', '.join(loops[:3])}{', ...' if len(loops) > 3 else ''}"
        )
    if not found:
        raise RlevError(
            f"no exam files found in {', '.join(map(str, paths))} (looked for {', '.join(sorted(EXTENSIONS))})"
        )
    return found


def _walk(root: Path, loops: list[str]) -> list[Path]:
    """The files below `root` in sorted order, following symlinked folders, skipping hidden names; a folder
    that is one of its own ancestors (by device and inode) is listed in `loops` instead of walked. Entries
    that are no regular file (a broken link, a FIFO) are listed too, to be reported, not passed over."""
    files: list[Path] = []

    def visit(folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            children = sorted(folder.iterdir())
        except PermissionError:  # as Path.rglob did: a folder we may not list is skipped
            return
        for child in children:
            if child.name.startswith("."):
                continue
            if child.is_dir():
                stat = child.stat()
                key = (stat.st_dev, stat.st_ino)
                if key in ancestors:
                    loops.append(f"{child} -> {os.readlink(child) if child.is_symlink() else child.resolve()}")
                    continue
                visit(child, ancestors | {key})
            else:  # a regular file, or a broken link, FIFO or socket: read_file says why it cannot read those
                files.append(child)

    top = root.stat()
    visit(root, frozenset({(top.st_dev, top.st_ino)}))
    return sorted(files, key=lambda p: p.relative_to(root).parts)


def answer_file_for(path: Path) -> Path | None:
    """The answer file beside a text paper (`<stem>.answers.txt`, `.answers.md`, `.key.txt`), if any."""
    for suffix in ANSWER_SUFFIXES:
        candidate_path = path.with_name(path.name.split(".")[0] + suffix)
        if candidate_path.exists() and candidate_path != path:
            return candidate_path
    return None


def is_answer_file(path: Path) -> bool:
    return path.name.endswith(ANSWER_SUFFIXES)


# Text that is not UTF-8 has no declared encoding; ingest guesses between these two, says so in a warning
# and records the guess in the manifest (`inputs[].encoding`). Names as Python spells them.
GUESSED = {"gb18030": "GB18030 (Chinese)", "cp1252": "Windows-1252 (Western European)"}
_guesses: ContextVar[list[str] | None] = ContextVar("rlev_guessed_encodings", default=None)


@contextmanager
def noting_guesses() -> Iterator[list[str]]:
    """Collect the encodings `decode_text` guesses inside the block (one file's reading), in order."""
    found: list[str] = []
    token = _guesses.set(found)
    try:
        yield found
    finally:
        _guesses.reset(token)


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; else a guess between GB18030 (a superset of GBK)
    and Windows-1252, noted for `noting_guesses`. Binary data is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as err:
            raise UnusableFile(f"not UTF-16 text despite its byte-order mark (byte {err.start})") from err
    if b"\x00" in raw[:8192]:
        head = raw[: 8192 - 8192 % 2]
        for order in ("little", "big"):  # text in UTF-16 without a BOM: say so rather than "binary"
            try:
                text = head.decode(f"utf-16-{order[0]}e")
            except UnicodeDecodeError:
                continue
            ascii_share = sum(" " <= ch <= "~" or ch in "\r\n\t" for ch in text) / max(1, len(text))
            if "\x00" not in text and _mostly_printable(text) and ascii_share >= 0.2:  # JSON, CSV, numbering
                raise UnusableFile(f"UTF-16 ({order}-endian) text without a byte-order mark; save it as UTF-8")
        raise UnusableFile("binary file (NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text, encoding = _guess(raw)
    noted = _guesses.get()
    if noted is not None and encoding not in noted:
        noted.append(encoding)
    return text


def _guess(raw: bytes) -> tuple[str, str]:
    """GB18030 when it decodes to Chinese, else Windows-1252 (Latin text with accents, curly quotes).

    GB18030 decodes almost any byte string: an accented letter and the ASCII letter after it become one
    ideograph ("naïve" in Windows-1252 reads as "na飗e"). Such an ideograph sits between two ASCII letters,
    which real Chinese text almost never does (a few "A和B" in a whole paper).
    """
    try:
        chinese: str | None = raw.decode("gb18030")
    except UnicodeDecodeError:
        chinese = None
    if chinese is not None and not _latin_misread(chinese) and _mostly_printable(chinese):
        return chinese, "gb18030"
    try:
        latin = raw.decode("cp1252")
    except UnicodeDecodeError as err:
        if chinese is not None and _mostly_printable(chinese):
            return chinese, "gb18030"
        raise UnusableFile(f"not UTF-8, GB18030 or Windows-1252 text (byte {err.start})") from err
    if not _mostly_printable(latin):
        raise UnusableFile("not UTF-8, GB18030 or Windows-1252 text (mostly unprintable characters)")
    return latin, "cp1252"


_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_HAN_IN_A_WORD = re.compile(r"(?<=[A-Za-z])[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff](?=[A-Za-z])")


def _latin_misread(text: str) -> bool:
    """Whether the ideographs of a GB18030 reading are Latin letters misread (a third or more of them
    between two ASCII letters); no ideograph at all is not Chinese either."""
    n_han = len(_HAN.findall(text))
    return n_han == 0 or 3 * len(_HAN_IN_A_WORD.findall(text)) >= n_han


def _mostly_printable(text: str) -> bool:
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def load_structured(path: Path, raw: bytes) -> Any:
    """Parse a .json / .yaml file; errors name the line."""
    text = decode_text(raw)
    if not text.strip():
        raise UnusableFile("empty file")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            raise UnusableFile(f"malformed YAML{where}: {getattr(err, 'problem', err)}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UnusableFile(f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from err


def first_jsonl_keys(raw: bytes) -> set[str]:
    for line in raw[: 1 << 16].splitlines()[:50]:
        if line.strip():
            try:
                record = json.loads(decode_text(line))
            except (json.JSONDecodeError, UnusableFile):
                return set()
            return set(record) if isinstance(record, dict) else set()
    return set()


def first_list_record(raw: bytes) -> dict[str, Any] | None:
    """The first record of a JSON list of objects, read from the start of the file only (so choosing a
    reader does not parse a whole release file twice); None when the file is not such a list."""
    head = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    head = head[: 1 << 20].lstrip()
    if head[:1] != b"[":
        return None
    text = head[1:].decode("utf-8", errors="ignore").lstrip()
    try:
        record, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
