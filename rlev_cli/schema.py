"""The Parquet contract between stages: one place for every table's columns.

The full schema is also stored as JSON under one "rlev" key of the Arrow metadata (as `datasets` does
under "huggingface"), so any reader can tell which table and schema version a file holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rlev_cli.errors import RlevError
from rlev_cli.workspace import Writer, atomic_path

SCHEMA_VERSION = 1

QTYPES = ("single_choice", "multi_choice", "numeric", "fill_blank", "free_form")

QUESTIONS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # stable: hash of normalized question + answer
        pa.field("exam_id", pa.string(), nullable=False),  # normalized paper identity; unit of T_i and split
        pa.field("subject", pa.string()),
        pa.field("language", pa.string()),
        pa.field("qtype", pa.string(), nullable=False),  # one of QTYPES
        pa.field("question", pa.string(), nullable=False),  # full prompt text (stem, passage, options)
        pa.field("system_prompt", pa.string()),  # the system turn a chat-template record came with
        pa.field("options", pa.list_(pa.string())),
        pa.field("answer", pa.string(), nullable=False),  # reference, normalized for the verifier
        pa.field("score", pa.float64()),  # s_ij: full positive points (null: unscored)
        pa.field("total", pa.float64()),  # T_i (null: unknown, unscored rows only)
        pa.field("total_source", pa.string()),  # record | totals | flag | known | sum | scheme
        pa.field("value", pa.float64()),  # s_ij / T_i in [0, 1] (null: unscored)
        pa.field("value_source", pa.string(), nullable=False),  # score | predicted | difficulty | none
        pa.field("split", pa.string(), nullable=False),  # train | test
        pa.field("source", pa.string(), nullable=False),  # relative input file + location in it
        pa.field("n_slots", pa.int32()),  # answer slots sharing one stem (GAOKAO objective)
        pa.field("section", pa.string()),  # elective / alternative group, null = common
        pa.field("exam_id_raw", pa.string()),  # the paper name as written in the input
        pa.field("flags", pa.list_(pa.string())),  # zero_points, in_text_points_mismatch, ...
    ]
)

REQUIRED_QUESTION_COLUMNS = (
    "id",
    "exam_id",
    "qtype",
    "question",
    "answer",
    "score",
    "total",
    "value",
    "value_source",
    "split",
    "source",
)

# What reading stages need when values may still be missing (before predict-values; evaluate; train).
UNSCORED_QUESTION_COLUMNS = tuple(
    c for c in REQUIRED_QUESTION_COLUMNS if c not in ("value", "value_source", "score", "total")
)

REJECTS = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),  # file and location (line, index, key)
        pa.field("reason", pa.string(), nullable=False),
        pa.field("exam_id", pa.string()),
        pa.field("duplicate_of", pa.string()),  # kept id, for duplicates
        pa.field("record", pa.string()),  # the input record as JSON text (may be cut)
    ]
)

PREDICTIONS = pa.schema(
    [
        pa.field("model", pa.string()),
        pa.field("benchmark", pa.string()),
        pa.field("id", pa.string()),
        pa.field("subject", pa.string()),
        pa.field("prompt", pa.string()),
        pa.field("response", pa.string()),
        pa.field("extracted", pa.string()),
        pa.field("extractor", pa.string()),
        pa.field("gold", pa.string()),
        pa.field("correct", pa.bool_()),  # null: ungraded
        pa.field("verdict_source", pa.string()),  # rule | judge | none (ungraded)
        pa.field("ungraded_reason", pa.string()),  # why the answer is ungraded (null when graded)
        # reference | grader (correct null: left out) | response (correct false: counted wrong); null = graded
        pa.field("ungraded_cause", pa.string()),
        pa.field("judge_score", pa.float64()),  # P(YES) / (P(YES) + P(NO)) when the judge gave logprobs
        pa.field("value", pa.float64()),
        pa.field("response_tokens", pa.int64()),
        pa.field("finish_reason", pa.string()),
        pa.field("perm", pa.list_(pa.int32())),
        pa.field("prompt_format", pa.string()),
    ]
)

SUMMARY = pa.schema(
    [
        pa.field("model", pa.string()),
        pa.field("benchmark", pa.string()),
        pa.field("bucket", pa.string()),  # "all" or a value bucket label
        pa.field("bucket_low", pa.float64()),
        pa.field("bucket_high", pa.float64()),
        pa.field("n", pa.int64()),
        pa.field("n_skipped", pa.int64()),
        pa.field("n_ungraded_response", pa.int64()),  # ungraded because of the response: in n, counted wrong
        pa.field("coverage", pa.float64()),  # % of the responses graded ("all" rows)
        pa.field("value_column", pa.string()),  # the column that weighted H-Acc, in domain
        pa.field("acc", pa.float64()),  # %
        pa.field("h_acc", pa.float64()),  # %, in domain only
        pa.field("mean_length", pa.float64()),  # tokens, EOS not counted
        pa.field("value_density", pa.float64()),  # H-Acc(%) / mean length
    ]
)


def with_metadata(table: pa.Table, name: str, extra: dict[str, Any] | None = None) -> pa.Table:
    meta = {"table": name, "schema_version": SCHEMA_VERSION, **(extra or {})}
    return table.replace_schema_metadata({"rlev": json.dumps(meta, ensure_ascii=False)})


def write_table(table: pa.Table, path: Path, name: str, extra: dict[str, Any] | None = None) -> None:
    """Write Parquet atomically, tagged with the table name and schema version."""
    with atomic_path(Path(path)) as tmp:
        write_parquet(table, tmp, name, extra)


def write_parquet(table: pa.Table, path: Path, name: str, extra: dict[str, Any] | None = None) -> None:
    """Write Parquet to `path` directly, tagged (a writer for `workspace.write_set`)."""
    pq.write_table(with_metadata(table, name, extra), path, compression="zstd")


def parquet_writer(table: pa.Table, name: str, extra: dict[str, Any] | None = None) -> Writer:
    """A `workspace.write_set` writer for one tagged table."""
    return lambda path: write_parquet(table, path, name, extra)


def read_questions(path: Path, required: Sequence[str] = REQUIRED_QUESTION_COLUMNS) -> pa.Table:
    """Read a questions table, checking that the `required` columns are there."""
    path = Path(path)
    _exists(path)
    return _checked(path, path, required)


def read_questions_hashed(path: Path, required: Sequence[str] = REQUIRED_QUESTION_COLUMNS) -> tuple[pa.Table, str]:
    """`read_questions` from one read of the file's bytes, and the SHA-256 of exactly those bytes: what a
    training run records as its data (a table replaced on disk meanwhile cannot make the two disagree)."""
    import hashlib

    path = Path(path)
    _exists(path)
    raw = path.read_bytes()
    return _checked(pa.BufferReader(raw), path, required), hashlib.sha256(raw).hexdigest()


def _exists(path: Path) -> None:
    if not path.exists():
        raise RlevError(f"{path}: no questions table here; run `rlev ingest EXAMS...` first or pass --data")


def _checked(source: Path | pa.BufferReader, path: Path, required: Sequence[str]) -> pa.Table:
    try:
        table = pq.read_table(source)
    except (OSError, pa.ArrowInvalid) as err:
        raise RlevError(f"{path}: not a readable Parquet file ({err})") from err
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise RlevError(f"{path}: not a questions table, missing column(s) {', '.join(missing)}")
    return table
