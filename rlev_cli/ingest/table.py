"""Flat records: RLEV's own release (query, label, score, total) and generic tables with --map.

JSON list, JSONL, CSV and Parquet are read into Arrow and mapped column-wise (no per-row Python on the
fast path), so a million-row JSONL ingests in seconds. CSV cells are all strings; numeric strings are
parsed strictly (units, ranges and booleans are rejected with the row).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.errors import RlevError
from rlev_cli.ingest.chat import is_message_list, looks_like_message_text, parse_message_text, split_messages
from rlev_cli.ingest.detect import decode_text
from rlev_cli.ingest.numbers import parse_number_column
from rlev_cli.ingest.qtypes import QTYPE_ALIASES, infer_qtypes
from rlev_cli.ingest.records import CANDIDATES, SPLIT_WORDS, ReadResult, Reject, UnusableFile, record_json, reject
from rlev_cli.schema import QTYPES

MAP_KEYS = (
    "question",
    "answer",
    "score",
    "total",
    "exam_id",
    "options",
    "qtype",
    "subject",
    "id",
    "split",
    "language",
    "system_prompt",
)
RLEV_FIELDS = {"question": "query", "answer": "label", "score": "score", "total": "total"}
# Other common names, used only when exactly one of them is present (see docs/ingest.md).
AUTO_NAMES = {
    "question": ("question", "question_text", "prompt", "problem", "query", "input"),
    "answer": ("answer", "gold", "correct_answer", "solution", "label"),
    "score": ("score", "points", "marks"),
    "total": ("total", "total_score", "total_points", "full_marks"),
    "exam_id": ("exam_id", "paper_id", "exam", "paper"),
    "options": ("options", "choices"),
    "qtype": ("qtype",),
    "subject": ("subject",),
    "split": ("split",),
    "language": ("language", "lang"),
    "system_prompt": ("system_prompt", "system"),
}


def looks_like_rlev_records(names: set[str]) -> bool:
    return {"query", "label"} <= names


def read_flat(
    path: Path, source: str, fmt: str, field_map: dict[str, str], raw: bytes | None, need_score: bool = True
) -> ReadResult:
    """Read one flat file (rlev or table format) into candidates and rejects."""
    table, line_rejects, line_numbers = _load(path, source, raw)
    return map_columns(table, source, fmt, field_map, path.stem, line_rejects, line_numbers, need_score)


def _load(path: Path, source: str, raw: bytes | None) -> tuple[pa.Table, list[Reject], np.ndarray | None]:
    """The file as a table, the records refused while parsing, and line numbers when rows skip lines."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path), [], None
        except (OSError, pa.ArrowInvalid) as err:
            raise UnusableFile(f"not a readable Parquet file ({err})") from err
    assert raw is not None
    if suffix == ".jsonl":
        return _load_jsonl(raw, source)
    if suffix == ".json":
        fast = _load_json_list(raw, source)
        if fast is not None:
            return fast, [], None
    text = _decode(raw)
    if suffix == ".csv":
        return _load_csv(text), [], None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise UnusableFile(f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from err
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise UnusableFile("unknown JSON structure: expected a list of records or an object with one list")
        data = data[lists[0]]
    if not isinstance(data, list):
        raise UnusableFile(f"unknown JSON structure: top level is a {type(data).__name__}")
    table, rejects = _rows_to_table(data, [f"{source}#[{i}]" for i in range(len(data))])
    return table, rejects, None


def _load_json_list(raw: bytes, source: str) -> pa.Table | None:
    """A JSON list of objects (the RLEV release's files) parsed and typed by Arrow's C++ reader, as one
    wrapped object: no Python object per record. None when it is anything else, or when Arrow refuses
    it (a column changing type, bad UTF-8, NaN): then the careful path names each bad record."""
    import pyarrow.json as pjson

    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if _first_byte(data) != b"[" or b"\x00" in data[:8192]:
        return None
    wrapped = b'{"rows":' + data + b"}"
    try:
        parsed = pjson.read_json(
            io.BytesIO(wrapped),
            read_options=pjson.ReadOptions(block_size=len(wrapped) + 1),
            parse_options=pjson.ParseOptions(newlines_in_values=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    column = parsed.column("rows")
    if parsed.num_rows != 1 or not pa.types.is_list(column.type) or not pa.types.is_struct(column.type.value_type):
        return None
    records = column.chunk(0).flatten()
    table = pa.Table.from_struct_array(records)
    if table.num_rows == 0 or table.num_columns == 0:
        return None
    index = pa.array(np.arange(table.num_rows)).cast(pa.string())
    where = pc.binary_join_element_wise(pa.scalar(source + "#["), index, pa.scalar("]"), "")
    return table.append_column("__source", where)


def _first_byte(data: bytes) -> bytes:
    """`data.lstrip()[:1]` without copying the whole file."""
    head = data[:4096].lstrip()
    return head[:1] if head else data.lstrip()[:1]


def _decode(raw: bytes) -> str:
    return decode_text(raw)


def _load_csv(text: str) -> pa.Table:
    import pyarrow.csv as pcsv

    # One thread: an error right after a threaded read (a mistyped --map) let the process exit while
    # Arrow's reader threads were still winding down, and it aborted ("terminate called ...") 1 run in 12.
    read_options = pcsv.ReadOptions(block_size=1 << 20, use_threads=False)

    data = text.encode("utf-8")
    header = pcsv.read_csv(io.BytesIO(data), read_options=read_options).schema.names if data.strip() else []
    if not header:
        raise UnusableFile("empty CSV (no header row)")
    try:
        return pcsv.read_csv(
            io.BytesIO(data),
            read_options=read_options,
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as err:
        raise UnusableFile(f"malformed CSV: {err}") from err


def _load_jsonl(raw: bytes, source: str) -> tuple[pa.Table, list[Reject], np.ndarray | None]:
    import pyarrow.json as pjson

    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    clean = b"\n\n" not in data and not data.startswith(b"\n") and b"\r" not in data and b"\x00" not in data[:8192]
    if clean:
        try:  # fast path: Arrow's multithreaded reader (validates UTF-8); row i is line i + 1
            return pjson.read_json(io.BytesIO(data)), [], None
        except pa.ArrowInvalid:
            pass  # malformed line, bad encoding or a column changing type: the careful path below
    text = _decode(raw)
    rows, lines, rejects = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            rejects.append(reject(f"{source}:{number}", f"malformed JSON: {err.msg} (column {err.colno})", line[:2000]))
            continue
        if not isinstance(record, dict):
            rejects.append(
                reject(f"{source}:{number}", f"line is a JSON {type(record).__name__}, not an object", line[:2000])
            )
            continue
        rows.append(record)
        lines.append(number)
    table, more = _rows_to_table(rows, [f"{source}:{n}" for n in lines])
    return table, rejects + more, np.asarray(lines)


def _rows_to_table(rows: list[Any], where: list[str]) -> tuple[pa.Table, list[Reject]]:
    """Python records -> a table of string/number/list columns; values kept as Python objects via JSON
    text where types are mixed, so strict parsing can report each bad cell."""
    good, rejects, keep = [], [], []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            rejects.append(reject(where[i], f"record is a {type(row).__name__}, not an object", row))
            continue
        good.append(row)
        keep.append(where[i])
    names: list[str] = []
    for row in good:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {}
    for name in names:
        values = [row.get(name) for row in good]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns[name] = pa.array([_as_text(v) for v in values], pa.string())
    table = pa.table(columns) if columns else pa.table({})
    table = table.append_column("__source", pa.array(keep, pa.string())) if names else table
    return table, rejects


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # strict number parsing then rejects it by name
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)


def resolve_field_map(
    names: list[str], fmt: str, field_map: dict[str, str], source: str, need_score: bool = True
) -> dict[str, str]:
    """Explicit --map first; then RLEV names (rlev format) or unambiguous common names (table).

    A --map onto a column the file lacks is a user error like an unknown --map key (never skipped)."""
    resolved = dict(field_map)
    for key, column in field_map.items():
        if column not in names:
            raise RlevError(f"--map {key}={column}: {source} has no column {column!r} (columns: {', '.join(names)})")
    for key, candidates in AUTO_NAMES.items():
        if key in resolved:
            continue
        if fmt == "rlev" and key in RLEV_FIELDS and RLEV_FIELDS[key] in names:
            resolved[key] = RLEV_FIELDS[key]
            continue
        present = [c for c in candidates if c in names and c not in resolved.values()]
        if len(present) == 1:
            resolved[key] = present[0]
        elif len(present) > 1 and key in ("question", "answer", "score", "total"):
            raise UnusableFile(f"ambiguous {key} column: {', '.join(present)}; choose with --map {key}=COLUMN")
    for key in ("question", "answer"):
        if key not in resolved:
            raise UnusableFile(f"no {key} column found (columns: {', '.join(names)}); pass --map {key}=COLUMN")
    if need_score and "score" not in resolved:
        raise UnusableFile(
            f"no score column found (columns: {', '.join(names)}); pass --map score=COLUMN "
            "(or --scheme FILE with marks by type, or --unscored to keep questions without points)"
        )
    return resolved


def map_columns(
    table: pa.Table,
    source: str,
    fmt: str,
    field_map: dict[str, str],
    stem: str,
    rejects: list[Reject],
    line_numbers: np.ndarray | None,
    need_score: bool = True,
) -> ReadResult:
    n = table.num_rows
    n_records = n + len(rejects)
    if n == 0:
        return ReadResult(fmt, CANDIDATES.empty_table(), rejects, n_records)
    names = [c for c in table.column_names if c != "__source"]
    fields = resolve_field_map(names, fmt, field_map, source, need_score)
    if "__source" in table.column_names:
        where = table["__source"].combine_chunks()
    else:
        rows = pa.array(np.arange(1, n + 1) if line_numbers is None else line_numbers).cast(pa.string())
        sep = ":" if source.endswith((".jsonl", ".csv")) else "#row "
        if source.endswith(".csv"):
            rows = pa.array(np.arange(2, n + 2)).cast(pa.string())  # line 1 is the header
        where = pc.binary_join_element_wise(pa.scalar(source + sep), rows, "")
    bad = np.zeros(n, dtype=bool)
    reasons: list[str | None] = [None] * n

    def fail(mask: np.ndarray, reason: str | list[str | None]) -> None:
        if not mask.any():
            return
        for i in np.flatnonzero(mask & ~bad):
            reasons[i] = reason if isinstance(reason, str) else reason[i]
        bad[mask] = True

    question, system_prompt, chat_reasons = _question_column(table, fields["question"])
    if any(chat_reasons):
        fail(np.array([r is not None for r in chat_reasons]), chat_reasons)
    if "system_prompt" in fields:
        given_system = _text_column(table, fields["system_prompt"])
        system_prompt = pc.if_else(pc.is_null(system_prompt), given_system, system_prompt)
    answer = _text_column(table, fields["answer"])
    fail(_empty(question), f"'{fields['question']}' is missing or empty")
    fail(_empty(answer), f"'{fields['answer']}' is missing or empty")
    score = np.full(n, np.nan)
    if "score" in fields:
        score, invalid, why = parse_number_column(table[fields["score"]])
        if invalid.any():
            fail(invalid, [None if r is None else f"'{fields['score']}': {r}" for r in why])
    total = np.full(n, np.nan)
    if "total" in fields:
        total, invalid, why = parse_number_column(table[fields["total"]])
        if invalid.any():
            fail(invalid, [None if r is None else f"'{fields['total']}': {r}" for r in why])
    if "exam_id" in fields:
        exam = pc.utf8_trim_whitespace(_text_column(table, fields["exam_id"]))
        fail(_empty(exam), f"'{fields['exam_id']}' (exam id) is missing or empty")
        exam = pc.fill_null(exam, stem)
        own_exam = np.zeros(n, dtype=bool)
    elif "total" in fields:
        # Records with their own totals but no exam id come from many papers (the RLEV release): each is
        # its own exam, so the file never collapses into one exam (and a split never into one side).
        exam = where
        own_exam = np.ones(n, dtype=bool)
    else:  # no total in the records: the file is the paper that --total / --totals / --total-from-sum name
        exam = pa.array(np.full(n, stem, dtype=object), pa.string())
        own_exam = np.zeros(n, dtype=bool)
    split = pa.nulls(n, pa.string())
    if "split" in fields:
        raw_split = pc.utf8_lower(pc.utf8_trim_whitespace(_text_column(table, fields["split"])))
        split = _canonical_split(raw_split)
        given = pc.and_(pc.is_valid(raw_split), pc.not_equal(raw_split, "")).to_numpy(zero_copy_only=False)
        unknown_split = given & ~pc.is_valid(split).to_numpy(zero_copy_only=False)
        if unknown_split.any():
            values = raw_split.to_pylist()
            fail(
                unknown_split,
                [
                    f"'{fields['split']}': split {values[i]!r} is not train, test or validation" if u else None
                    for i, u in enumerate(unknown_split)
                ],
            )
    qtype = _qtypes(table, fields, answer)
    unknown = pc.invert(pc.is_in(pc.fill_null(qtype, ""), pa.array(QTYPES))).to_numpy(zero_copy_only=False)
    if unknown.any():
        fail(
            unknown,
            [
                f"qtype {v!r} is not one of {', '.join(QTYPES)}" if u else None
                for v, u in zip(qtype.to_pylist(), unknown, strict=True)
            ],
        )
    columns = {
        "question": question,
        "answer": pc.utf8_trim_whitespace(answer),
        "score": pa.array(score, mask=np.isnan(score)),
        "total": pa.array(total, mask=np.isnan(total)),
        "total_source": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, np.int8), mask=np.isnan(total)), pa.array(["record"])
        ).cast(pa.string()),
        "exam_id": exam,
        "exam_id_raw": exam,
        "qtype": qtype,
        "type_label": qtype,
        "source": where,
        "subject": _text_column(table, fields["subject"]) if "subject" in fields else pa.nulls(n, pa.string()),
        "language": _text_column(table, fields["language"]) if "language" in fields else pa.nulls(n, pa.string()),
        "system_prompt": system_prompt,
        "split": split,
        "own_exam": pa.array(own_exam),
        "options": _options(table, fields.get("options"), n),
        "n_slots": pa.array(np.ones(n, dtype=np.int32)),
    }
    if "id" in fields:
        columns["record"] = pa.nulls(n, pa.string())
        ids = _text_column(table, fields["id"])
    candidates = pa.table(
        {name: columns.get(name, pa.nulls(n, CANDIDATES.field(name).type)) for name in CANDIDATES.names},
        schema=CANDIDATES,
    )
    if "id" in fields:
        candidates = candidates.append_column("given_id", ids)
    if bad.any():
        index = np.flatnonzero(bad)
        raw_rows = table.take(pa.array(index)).to_pylist()
        where_list = where.take(pa.array(index)).to_pylist()
        for k, i in enumerate(index):
            record = {k2: v for k2, v in raw_rows[k].items() if k2 != "__source"}
            reason = reasons[i]
            assert reason is not None  # fail() gave every bad row its reason
            rejects.append(reject(where_list[k], reason, record_json(record)))
        candidates = candidates.filter(pa.array(~bad))
    return ReadResult(fmt, candidates, rejects, n_records)


def _canonical_split(raw: pa.Array) -> pa.Array:
    """train/test/validation from the usual spellings; null for anything else (refused by the caller)."""
    keys = pa.array(list(SPLIT_WORDS))
    index = pc.index_in(raw, value_set=keys)
    return pc.take(pa.array(list(SPLIT_WORDS.values())), index)


def _question_column(table: pa.Table, name: str) -> tuple[pa.Array, pa.Array, list[str | None]]:
    """(question, system_prompt, refusal reasons) of the prompt column: plain text, or chat messages
    (a message list, or its JSON text) whose user turn is the question."""
    column = table[name].combine_chunks()
    n = len(column)
    if is_message_list(column):
        return split_messages(column, name)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
        mask = looks_like_message_text(column)
        if mask.any():
            parsed = parse_message_text(column, mask)
            mask &= parsed.is_valid().to_numpy(zero_copy_only=False)
            question, system, reasons = split_messages(parsed, name)
            chosen = pa.array(mask)
            return (
                pc.if_else(chosen, question, column),
                pc.if_else(chosen, system, pa.scalar(None, pa.string())),
                [r if m else None for r, m in zip(reasons, mask, strict=True)],
            )
        return column, pa.nulls(n, pa.string()), [None] * n
    return _text_column(table, name), pa.nulls(n, pa.string()), [None] * n


def _text_column(table: pa.Table, name: str) -> pa.Array:
    column = table[name].combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_list(column.type) or pa.types.is_struct(column.type):
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()], pa.string()
        )
    return column.cast(pa.string())


def _empty(column: pa.Array) -> np.ndarray:
    # Empty or only Unicode whitespace (what utf8_trim_whitespace removes), without copying the column.
    blank = pc.or_(pc.equal(column, ""), pc.utf8_is_space(column))
    return cast(np.ndarray, pc.fill_null(blank, True).to_numpy(zero_copy_only=False))


def _options(table: pa.Table, name: str | None, n: int) -> pa.Array:
    if name is None:
        return pa.nulls(n, pa.list_(pa.string()))
    column = table[name].combine_chunks()
    if pa.types.is_list(column.type):
        return column.cast(pa.list_(pa.string()))
    values = []
    for v in column.to_pylist():  # a JSON-encoded list in a CSV cell
        try:
            parsed = json.loads(v) if isinstance(v, str) and v.strip().startswith("[") else None
        except json.JSONDecodeError:
            parsed = None
        values.append([str(x) for x in parsed] if isinstance(parsed, list) else None)
    return pa.array(values, pa.list_(pa.string()))


def _qtypes(table: pa.Table, fields: dict[str, str], answer: pa.Array) -> pa.Array:
    if "qtype" in fields:
        raw = pc.utf8_lower(pc.utf8_trim_whitespace(_text_column(table, fields["qtype"])))
        mapped = [QTYPE_ALIASES.get(v, v) if v else None for v in raw.to_pylist()]
        given = pa.array(mapped, pa.string())
        return pc.if_else(pc.is_null(given), infer_qtypes(answer), given)
    return infer_qtypes(answer)
