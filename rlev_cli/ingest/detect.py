"""Finding input files (and a text paper's answer file), decoding text, parsing JSON/YAML."""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.ingest.records import UnusableFile

ANSWER_SUFFIXES = (".answers.txt", ".answers.md", ".key.txt")
EXTENSIONS = {".json", ".jsonl", ".csv", ".parquet", ".yaml", ".yml", ".txt", ".md"}


def find_inputs(paths: list[Path]) -> list[tuple[Path, PurePath]]:
    """Files given, plus the exam files found recursively in folders (sorted, hidden files skipped), each
    with its name below the path given (what a release's train/test and en/zh names are read from)."""
    found: list[tuple[Path, PurePath]] = []
    for path in paths:
        if not path.exists():
            raise RlevError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if (
                    child.is_file()
                    and child.suffix.lower() in EXTENSIONS
                    and not is_answer_file(child)
                    and child.name.upper() not in ("README.MD", "SOURCES.MD", "LICENSE.MD")
                ):
                    found.append((child, PurePath(relative)))
        else:
            found.append((path, PurePath(path.name)))
    if not found:
        raise RlevError(
            f"no exam files found in {', '.join(map(str, paths))} (looked for {', '.join(sorted(EXTENSIONS))})"
        )
    return found


def answer_file_for(path: Path) -> Path | None:
    """The answer file beside a text paper (`<stem>.answers.txt`, `.answers.md`, `.key.txt`), if any."""
    for suffix in ANSWER_SUFFIXES:
        candidate_path = path.with_name(path.name.split(".")[0] + suffix)
        if candidate_path.exists() and candidate_path != path:
            return candidate_path
    return None


def is_answer_file(path: Path) -> bool:
    return path.name.endswith(ANSWER_SUFFIXES)


def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK); binary data is refused."""
    if b"\x00" in raw[:8192]:
        raise UnusableFile("binary file (NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as err:
        raise UnusableFile(f"not UTF-8 or GB18030 text (byte {err.start})") from err
    # GB18030 decodes almost any byte string; demand that most characters are printable text.
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if printable < 0.95 * len(text):
        raise UnusableFile("not UTF-8 or GB18030 text (mostly unprintable characters)")
    return text


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
