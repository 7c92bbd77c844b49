"""Choosing a reader: a format -> reader table, and reading one file (its bytes, its sha256, its records).

With `--format auto` the format is detected per file (text papers and flat tables by suffix and
columns, JSON/YAML by structure) and the manifest says what was chosen. A file that cannot be read at
all raises `UnusableFile` inside a reader; `read_file` turns it into a `ReadResult` with `unusable` set
(then an error naming the file, or with --skip-unreadable one reject).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rlev_cli.ingest import detect, gaokao, jeebench, ksat, table, text
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.ingest.detect import display
from rlev_cli.ingest.records import ReadResult, UnusableFile, reject

TEXT_SUFFIXES = (".txt", ".md")
FLAT_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")

# A reader gets the path, the raw bytes, the parsed JSON/YAML (None until a structured reader needs it),
# the display name of the file and the settings.
Reader = Callable[[Path, bytes, Any, str, IngestConfig], ReadResult]


def need_score(config: IngestConfig) -> bool:
    """A table must carry points unless a --scheme supplies them or --unscored keeps rows without."""
    return not (config.scheme or config.unscored)


def _text(path: Path, raw: bytes, data: Any, source: str, config: IngestConfig) -> ReadResult:
    _expect(path.suffix.lower() in TEXT_SUFFIXES, f"format 'text' cannot read a {path.suffix.lower()} file")
    answers = detect.answer_file_for(path)
    answers_text, key = None, None
    if answers:  # its own input: hashed, and its guessed encoding noted apart from the paper's
        answers_raw = answers.read_bytes()
        with detect.noting_guesses() as guessed:
            answers_text = detect.decode_text(answers_raw)
        key = (answers, hashlib.sha256(answers_raw).hexdigest(), guessed[0] if guessed else None)
    result = text.read_text(detect.decode_text(raw), source, path, answers_text)
    result.answers = key
    return result


def _flat(fmt: str) -> Reader:
    def read(path: Path, raw: bytes, data: Any, source: str, config: IngestConfig) -> ReadResult:
        suffix = path.suffix.lower()
        _expect(suffix in FLAT_SUFFIXES, f"format {fmt!r} cannot read a {suffix} file")
        flat_raw = None if suffix == ".parquet" else raw
        return table.read_flat(path, source, fmt, config.field_map, flat_raw, need_score(config))

    return read


def _structured(check: Callable[[Any], bool], what: str, read: Callable[[Any, str, str], ReadResult]) -> Reader:
    def reader(path: Path, raw: bytes, data: Any, source: str, config: IngestConfig) -> ReadResult:
        data = detect.load_structured(path, raw) if data is None else data
        _expect(check(data), what)
        return read(data, source, path.stem)

    return reader


READERS: dict[str, Reader] = {
    "text": _text,
    "rlev": _flat("rlev"),
    "table": _flat("table"),
    "gaokao": _structured(
        gaokao.looks_like_gaokao, "not GAOKAO-Bench JSON ({'keywords', 'example': [...]})", gaokao.read_gaokao
    ),
    "jeebench": _structured(
        lambda data: isinstance(data, list),
        "not JEEBench JSON (a list of records)",
        lambda data, source, stem: jeebench.read_jeebench(data, source),
    ),
    "ksat": _structured(
        ksat.looks_like_ksat,
        "not KSAT YAML (exam_id + questions)",
        lambda data, source, stem: ksat.read_ksat(data, source),
    ),
}


def detect_structured(data: Any) -> str | None:
    """The format of parsed JSON/YAML, or None."""
    if gaokao.looks_like_gaokao(data):
        return "gaokao"
    if jeebench.looks_like_jeebench(data):
        return "jeebench"
    if ksat.looks_like_ksat(data):
        return "ksat"
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "rlev" if table.looks_like_rlev_records(set(data[0])) else "table"
    return None


def detect_format(path: Path, raw: bytes) -> tuple[str, Any]:
    """(format, parsed data or None) of a file under --format auto."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text", None
    if suffix in (".csv", ".parquet", ".jsonl"):
        if suffix == ".jsonl":
            names = detect.first_jsonl_keys(raw)
        elif suffix == ".csv":
            names = set(detect.decode_text(raw).splitlines()[0].split(","))
        else:
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
        return ("rlev" if table.looks_like_rlev_records(names) else "table"), None
    if suffix == ".json":  # a list of records: decided on its first record, parsed once by its reader
        first = detect.first_list_record(raw)
        fmt = detect_structured([first]) if first is not None else None
        if fmt in ("rlev", "table"):
            return fmt, None
    data = detect.load_structured(path, raw)
    fmt = detect_structured(data)
    if fmt is None:
        raise UnusableFile(
            "unknown structure: not GAOKAO-Bench, JEEBench, KSAT, RLEV or a list of records; pass --format"
        )
    return fmt, None if fmt in ("rlev", "table") else data


def read_as(path: Path, raw: bytes, source: str, config: IngestConfig) -> ReadResult:
    """One file's records with the requested (or detected) format's reader."""
    fmt = config.format
    try:
        if _blank(raw):
            raise UnusableFile("empty file")
        data = None
        if fmt == "auto":
            fmt, data = detect_format(path, raw)
        return READERS[fmt](path, raw, data, source, config)
    except UnusableFile as err:
        return unusable(fmt if fmt != "auto" else "unreadable", source, str(err))


def _blank(raw: bytes) -> bool:
    """`not raw.strip()`, without copying a large file: its first bytes almost always decide it."""
    return not raw[:4096].strip() and not raw.strip()


def unusable(fmt: str, source: str, reason: str) -> ReadResult:
    """A file read as nothing but the one reason it cannot be used."""
    result = ReadResult.from_rows(fmt, [], [reject(source, reason)], 1)
    result.unusable = reason
    return result


def _expect(ok: bool, reason: str) -> None:
    if not ok:
        raise UnusableFile(reason)


def read_file(path: Path, config: IngestConfig, walked: bool = False) -> tuple[ReadResult, str]:
    """Read one file with the requested (or detected) format, and its sha256; a file that cannot be read
    at all is one reject naming the file and the reason. A text encoding guessed (not UTF-8) is noted in
    `result.encoding`. A FIFO found in a folder (`walked`) is refused unopened (reading it would block); one
    named on the command line is read (`rlev ingest <(curl …)`)."""
    source = display(path)
    if path.is_symlink() and not path.exists():
        return unusable("unreadable", source, f"a broken link (to {os.readlink(path)})"), ""
    if walked and not path.is_file():
        return unusable("unreadable", source, "not a regular file (a FIFO, socket or device)"), ""
    try:
        raw = path.read_bytes()
    except OSError as err:
        return unusable("unreadable", source, f"cannot read file: {err.strerror}"), ""
    with ThreadPoolExecutor(1) as pool:  # hashlib releases the GIL: hash while parsing
        hashing = pool.submit(hashlib.sha256, raw)
        with detect.noting_guesses() as guessed:
            result = read_as(path, raw, source, config)
        result.encoding = guessed[0] if guessed else None
        return result, hashing.result().hexdigest()
