"""What every format reader returns: candidate questions (canonical columns) and rejects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Canonical columns a reader fills; `run_ingest` turns them into the questions table.
CANDIDATES = pa.schema(
    [
        pa.field("question", pa.string()),
        pa.field("system_prompt", pa.string()),  # the system turn of a chat-template record
        pa.field("answer", pa.string()),
        pa.field("score", pa.float64()),  # null: missing (a --scheme may supply it)
        pa.field("total", pa.float64()),  # null: resolved later (--totals, --total, known, sum)
        pa.field("total_source", pa.string()),
        pa.field("known_total", pa.float64()),  # built-in official total for this paper, if any
        pa.field("exam_id", pa.string()),
        pa.field("exam_id_raw", pa.string()),
        pa.field("subject", pa.string()),
        pa.field("language", pa.string()),
        pa.field("qtype", pa.string()),
        pa.field("type_label", pa.string()),  # the source's own type name, the key into a --scheme
        pa.field("options", pa.list_(pa.string())),
        pa.field("n_slots", pa.int32()),
        pa.field("section", pa.string()),
        pa.field("source", pa.string()),
        pa.field("flags", pa.list_(pa.string())),
        pa.field("record", pa.string()),  # raw input record as JSON (null: rebuilt on reject)
        pa.field("split", pa.string()),  # as released (split column); null: from the path, else drawn
        pa.field("own_exam", pa.bool_()),  # no exam id in the input: the record is its own exam
    ]
)

MAX_RECORD_CHARS = 4000

# The words that name a split, in a `split` column or a file/folder name, and the split each means.
SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "test": "test",
    "testing": "test",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
}


class UnusableFile(Exception):
    """The file as a whole cannot be used (empty, binary, truncated, an unknown shape, no score column):
    an error naming the file, or with --skip-unreadable one reject for the whole file."""


def record_json(record: Any) -> str:
    text = json.dumps(record, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_RECORD_CHARS else text[:MAX_RECORD_CHARS] + "…"


def candidate(**fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(CANDIDATES.names)
    row["flags"] = []
    row.update(fields)
    return row


class Reject(TypedDict):
    """One row of rejects.parquet (`schema.REJECTS`): a record that did not become a question, and why."""

    source: str  # file, or file:line / file:item for one record
    reason: str
    exam_id: str | None
    duplicate_of: str | None  # the kept question id, for a duplicate
    record: str | None  # the raw record as JSON (cut at MAX_RECORD_CHARS)


def reject(source: str, reason: str, record: Any = None, exam_id: str | None = None) -> Reject:
    return {
        "source": source,
        "reason": reason,
        "exam_id": exam_id,
        "duplicate_of": None,
        "record": None if record is None else (record if isinstance(record, str) else record_json(record)),
    }


@dataclass
class ReadResult:
    """One input file, read: every record is in `candidates` or `rejects`."""

    format: str
    candidates: pa.Table
    rejects: list[Reject]
    n_records: int
    notes: dict[str, list[Any]] = field(default_factory=dict)
    unusable: str | None = None  # why the whole file could not be read (then one reject, no candidates)
    encoding: str | None = None  # the text encoding guessed for a file that is not UTF-8 (detect.decode_text)
    # the answer file read beside a text paper: (its path, its bytes' sha256, its encoding if guessed)
    answers: tuple[Path, str, str | None] | None = None

    @classmethod
    def from_rows(
        cls,
        fmt: str,
        rows: list[dict[str, Any]],
        rejects: list[Reject],
        n_records: int,
        notes: dict[str, list[Any]] | None = None,
    ) -> ReadResult:
        table = pa.Table.from_pylist(rows, schema=CANDIDATES) if rows else CANDIDATES.empty_table()
        return cls(fmt, table, rejects, n_records, notes or {})


# Column helpers shared by the stages of run_ingest (totals, ids, split).


def drop_rows(
    table: pa.Table,
    given: pa.Array,
    mask: np.ndarray,
    reasons: list[str],
    rejects: list[Reject],
) -> tuple[pa.Table, pa.Array]:
    """Move the rows under `mask` to rejects (with their record) and return the rest."""
    if not mask.any():
        return table, given
    index = np.flatnonzero(mask)
    subset = table.take(pa.array(index)).to_pylist()
    for row, reason in zip(subset, reasons, strict=True):
        rejects.append(reject(row["source"], reason, row["record"] or record_json(_summary(row)), row["exam_id"]))
    keep = pa.array(~mask)
    return table.filter(keep), given.filter(keep)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("exam_id", "question", "answer", "score", "total") if row.get(k) is not None}


def per_exam(exam_ids: pa.ChunkedArray | pa.Array) -> tuple[list[str], np.ndarray]:
    encoded = pc.dictionary_encode(exam_ids)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)


def first_rows(codes: np.ndarray, n_exams: int) -> np.ndarray:
    """Index of the first row of each exam."""
    first = np.full(n_exams, -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def two_values(mask: np.ndarray, no: str, yes: str) -> pa.Array:
    """A string column holding `yes` where mask else `no`, built without a Python object per row."""
    return pa.DictionaryArray.from_arrays(pa.array(mask.astype(np.int8)), pa.array([no, yes])).cast(pa.string())
