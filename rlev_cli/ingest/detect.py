"""Finding input files, decoding text, and telling which format a file is in."""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.ingest.records import UnusableFile

FORMATS = ("auto", "gaokao", "jeebench", "ksat", "rlev", "table", "text")
EXTENSIONS = {".json", ".jsonl", ".csv", ".parquet", ".yaml", ".yml", ".txt", ".md"}


def find_inputs(paths: list[Path]) -> list[tuple[Path, PurePath]]:
    """Files given, plus the exam files found recursively in folders (sorted, hidden files skipped), each
    with its name below the path given (what a release's train/test and en/zh names are read from)."""
    from rlev_cli.ingest.text import is_answer_file

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


def detect_structured(data: Any) -> str | None:
    from rlev_cli.ingest.gaokao import looks_like_gaokao
    from rlev_cli.ingest.jeebench import looks_like_jeebench
    from rlev_cli.ingest.ksat import looks_like_ksat
    from rlev_cli.ingest.table import looks_like_rlev_records

    if looks_like_gaokao(data):
        return "gaokao"
    if looks_like_jeebench(data):
        return "jeebench"
    if looks_like_ksat(data):
        return "ksat"
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "rlev" if looks_like_rlev_records(set(data[0])) else "table"
    return None


def first_jsonl_keys(raw: bytes) -> set[str]:
    for line in raw[: 1 << 16].splitlines()[:50]:
        if line.strip():
            try:
                record = json.loads(decode_text(line))
            except (json.JSONDecodeError, UnusableFile):
                return set()
            return set(record) if isinstance(record, dict) else set()
    return set()
