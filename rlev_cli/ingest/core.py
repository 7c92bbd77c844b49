"""`run_ingest`: exam files in, questions.parquet + rejects.parquet + manifest.json out.

Flow: find files -> read each with its format reader -> points from a scheme where missing -> totals
(record, --totals, --total, known, sum of a complete paper) -> checks -> duplicates -> ids -> split ->
atomic writes. Every input record ends in exactly one of the two tables.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli import __version__
from rlev_cli.config import IngestConfig, as_dict
from rlev_cli.errors import RlevError
from rlev_cli.ingest import detect, splits
from rlev_cli.ingest.numbers import parse_number
from rlev_cli.ingest.records import CANDIDATES, ReadResult, UnusableFile, record_json, reject
from rlev_cli.schema import QUESTIONS, REJECTS, parquet_writer
from rlev_cli.workspace import MANIFEST_FILE, QUESTIONS_FILE, REJECTS_FILE, write_json_file, write_set

LOW_COVERAGE = 0.5


@dataclass
class IngestResult:
    questions_path: Path
    rejects_path: Path
    manifest_path: Path
    n_records: int
    n_questions: int
    n_rejects: int
    n_exams: int
    n_train: int
    n_test: int
    formats: dict[str, int]
    reject_reasons: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # path, format chosen, records


def run_ingest(
    paths: list[Path | str], config: IngestConfig, progress: Callable[[int], Any] | None = None
) -> IngestResult:
    from rlev_cli.ingest import hub

    specs = [str(p) for p in paths if hub.is_hub(p)]
    local = [Path(p) for p in paths if not hub.is_hub(p)]
    files = detect.find_inputs(local) if local else []
    totals = load_totals(config.totals) if config.totals else {}
    scheme = load_scheme(config.scheme) if config.scheme else {}
    results, inputs = [], []
    released = {"split column": 0, "file names": 0, "hub splits": 0}
    for path, name in files:
        result, digest = read_file(path, config)
        released["split column"] += len(result.candidates["split"]) - result.candidates["split"].null_count
        result.candidates = _with_name_hints(result.candidates, name, released)
        results.append(result)
        inputs.append(
            {
                "path": _display(path),
                "sha256": digest,
                "bytes": path.stat().st_size,
                "format": result.format,
                "records": result.n_records,
            }
        )
        if progress:
            progress(1)
    for spec in specs:
        for result, entry, _split_name in hub.read_hub(spec, config.field_map, _need_score(config)):
            given = len(result.candidates["split"]) - result.candidates["split"].null_count
            released["hub splits"] += given
            results.append(result)
            inputs.append(entry)
            if progress:
                progress(1)
    _check_unusable(results, inputs, config)
    candidates = pa.concat_tables([r.candidates.select(CANDIDATES.names).cast(CANDIDATES) for r in results])
    given_ids = _given_ids(results)
    rejects = [rej for r in results for rej in r.rejects]
    n_records = sum(r.n_records for r in results)
    warnings: list[str] = []

    candidates, given_ids = _apply_scheme(candidates, given_ids, scheme, config, rejects)
    candidates, given_ids, exams = _resolve_totals(candidates, given_ids, totals, config, rejects, warnings)
    questions, shared = _build_questions(candidates, given_ids, rejects, config)
    questions, split_info = _split(questions, shared, config, warnings)
    split_info["released_from"] = {k: v for k, v in released.items() if v}
    exam_rows, n_exams = _exam_report(questions, exams)
    _check_counts(n_records, questions.num_rows, len(rejects))

    reasons = Counter(_reason_kind(r["reason"]) for r in rejects)
    if config.strict and rejects:
        first = rejects[0]
        raise RlevError(
            f"{len(rejects)} record(s) rejected under --strict, first: {first['source']}: "
            f"{first['reason']} (run without --strict to get rejects.parquet)"
        )
    out = Path(config.out)
    if questions.num_rows == 0:
        top = reasons.most_common(1)
        raise RlevError(
            f"no questions: all {n_records} record(s) were rejected"
            + (f" (most often: {top[0][0]}, {top[0][1]}x)" if top else "")
            + f"; nothing was written, {out / QUESTIONS_FILE} (if any) is unchanged"
        )
    rejects_table = pa.Table.from_pylist(rejects, schema=REJECTS) if rejects else REJECTS.empty_table()
    n_train = int(pc.sum(pc.equal(questions["split"], "train")).as_py() or 0)
    n_test = int(pc.sum(pc.equal(questions["split"], "test")).as_py() or 0)
    flags = (
        Counter(f for fl in questions["flags"].to_pylist() if fl for f in fl) if _any_flags(questions) else Counter()
    )
    manifest = {
        "command": "ingest",
        "rlev_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": as_dict(config),
        "inputs": inputs,
        "counts": {
            "records_in": n_records,
            "questions": questions.num_rows,
            "rejects": len(rejects),
            "exams": n_exams,
            "train": n_train,
            "test": n_test,
            "validation": questions.num_rows - n_train - n_test,
        },
        "split": split_info,
        "shared_questions": {
            "note": "the same question and answer in several papers is kept in each, with that paper's points "
            "and total; the papers sharing it are kept in the same split",
            "questions": shared.n_questions,
            "rows": shared.n_rows,
            "examples": shared.examples,
        },
        "reject_reasons": dict(reasons),
        "flags": dict(flags),
        "warnings": warnings,
        "in_text_points_mismatch": [m for r in results for m in r.notes.get("in_text_points_mismatch", [])],
        "exams": exam_rows,
    }
    indent = 2 if len(exam_rows) <= 2000 else None  # big: compact, fast
    write_set(
        out,
        {
            QUESTIONS_FILE: parquet_writer(questions, "questions"),
            REJECTS_FILE: parquet_writer(rejects_table, "rejects"),
            MANIFEST_FILE: lambda path: write_json_file(path, manifest, indent),
        },
    )
    formats = Counter(r.format for r in results)
    return IngestResult(
        out / QUESTIONS_FILE,
        out / REJECTS_FILE,
        out / MANIFEST_FILE,
        n_records,
        questions.num_rows,
        len(rejects),
        n_exams,
        n_train,
        n_test,
        dict(formats),
        dict(reasons),
        warnings,
        [{k: entry[k] for k in ("path", "format", "records")} for entry in inputs],
    )


def _with_name_hints(candidates: pa.Table, name: PurePath, released: dict[str, int]) -> pa.Table:
    """The split and language a file or folder name states, where the records say nothing."""
    split = splits.split_from_name(name)
    if split is not None:
        released["file names"] += candidates["split"].null_count
    candidates = splits.fill_column(candidates, "split", split)
    return splits.fill_column(candidates, "language", splits.language_from_name(name))


def _check_unusable(results: list[ReadResult], inputs: list[dict[str, Any]], config: IngestConfig) -> None:
    """A file that cannot be read at all is an error naming it, unless --skip-unreadable (then one reject)."""
    bad = [(entry["path"], r.unusable) for r, entry in zip(results, inputs, strict=True) if r.unusable]
    if bad and not config.skip_unreadable:
        listed = "; ".join(f"{path}: {reason}" for path, reason in bad)
        raise RlevError(
            f"{len(bad)} file(s) cannot be read: {listed} (nothing was written; fix or remove "
            f"{'it' if len(bad) == 1 else 'them'}, or pass --skip-unreadable to ingest the other files)"
        )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_file(path: Path, config: IngestConfig) -> tuple[ReadResult, str]:
    """Read one file with the requested (or detected) format, and its sha256; a file that cannot be read
    at all is one reject naming the file and the reason."""
    source = _display(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        return _unusable("unreadable", source, f"cannot read file: {err.strerror}"), ""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # hashlib releases the GIL: hash while parsing
        hashing = pool.submit(hashlib.sha256, raw)
        result = _read_as(path, raw, source, config)
        return result, hashing.result().hexdigest()


def _read_as(path: Path, raw: bytes, source: str, config: IngestConfig) -> ReadResult:
    from rlev_cli.ingest import gaokao, jeebench, ksat, table, text

    suffix = path.suffix.lower()
    fmt = config.format
    try:
        if not raw[:4096].strip() and not raw.strip():
            raise UnusableFile("empty file")
        if suffix in (".txt", ".md") and fmt in ("auto", "text"):
            answers = text.answer_file_for(path)
            answers_text = detect.decode_text(answers.read_bytes()) if answers else None
            return text.read_text(detect.decode_text(raw), source, path, answers_text)
        if suffix in (".csv", ".parquet", ".jsonl") or fmt in ("rlev", "table"):
            if fmt == "auto":
                names = detect.first_jsonl_keys(raw) if suffix == ".jsonl" else set()
                if suffix == ".csv":
                    names = set(detect.decode_text(raw).splitlines()[0].split(","))
                if suffix == ".parquet":
                    import pyarrow.parquet as pq

                    names = set(pq.read_schema(path).names)
                fmt = "rlev" if table.looks_like_rlev_records(names) else "table"
            if suffix in (".csv", ".parquet", ".jsonl", ".json"):
                return table.read_flat(
                    path, source, fmt, config.field_map, None if suffix == ".parquet" else raw, _need_score(config)
                )
        data = detect.load_structured(path, raw)
        if fmt == "auto":
            fmt = detect.detect_structured(data) or ""
            if not fmt:
                raise UnusableFile(
                    "unknown structure: not GAOKAO-Bench, JEEBench, KSAT, RLEV or a list of records; pass --format"
                )
        if fmt == "gaokao":
            _expect(gaokao.looks_like_gaokao(data), "not GAOKAO-Bench JSON ({'keywords', 'example': [...]})")
            return gaokao.read_gaokao(data, source, path.stem)
        if fmt == "jeebench":
            _expect(isinstance(data, list), "not JEEBench JSON (a list of records)")
            return jeebench.read_jeebench(data, source)
        if fmt == "ksat":
            _expect(ksat.looks_like_ksat(data), "not KSAT YAML (exam_id + questions)")
            return ksat.read_ksat(data, source)
        if fmt in ("rlev", "table"):
            return table.read_flat(path, source, fmt, config.field_map, raw, _need_score(config))
        raise UnusableFile(f"format {fmt!r} cannot read a {suffix} file")
    except UnusableFile as err:
        return _unusable(fmt if fmt != "auto" else "unreadable", source, str(err))


def _unusable(fmt: str, source: str, reason: str) -> ReadResult:
    result = ReadResult.from_rows(fmt, [], [reject(source, reason)], 1)
    result.unusable = reason
    return result


def _need_score(config: IngestConfig) -> bool:
    """A table must carry points unless a --scheme supplies them or --unscored keeps rows without."""
    return not (config.scheme or config.unscored)


def _expect(ok: bool, reason: str) -> None:
    if not ok:
        raise UnusableFile(reason)


def _given_ids(results: list[ReadResult]) -> pa.Array:
    parts = [
        r.candidates["given_id"]
        if "given_id" in r.candidates.column_names
        else pa.nulls(r.candidates.num_rows, pa.string())
        for r in results
    ]
    return (
        pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts])
        if parts
        else pa.array([], pa.string())
    )


def load_totals(path: Path) -> dict[str, float]:
    """CSV (exam_id,total with a header) or JSON {exam_id: total}."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RlevError(f"{path}: cannot read totals file ({err})") from err
    totals: dict[str, float] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RlevError(f"{path}:{err.lineno}: malformed JSON in totals file: {err.msg}") from err
        if not isinstance(data, dict):
            raise RlevError(f"{path}: totals JSON must be an object {{exam_id: total}}")
        items = [(str(k), v, f"{path}: {k!r}") for k, v in data.items()]
    else:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or len(rows[0]) < 2:
            raise RlevError(f"{path}: totals CSV needs a header and two columns: exam_id,total")
        items = [
            (r[0].strip(), r[1] if len(r) > 1 else None, f"{path}:{i}")
            for i, r in enumerate(rows[1:], 2)
            if r and any(c.strip() for c in r)
        ]
    for exam_id, value, where in items:
        number, reason = parse_number(value)
        if number is None or not number > 0:
            raise RlevError(
                f"{where}: total {value!r} for exam {exam_id!r} is not a positive number"
                + (f" ({reason})" if reason else "")
            )
        totals[exam_id] = number
    return totals


def load_scheme(path: Path) -> dict[str, dict[str, Any]]:
    """{exam_id or "*": {type label: full marks, optional "total": T}} (also the
    {"papers": {id: {"total": T, "marks": {...}}}} form)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as err:
        raise RlevError(f"{path}: cannot read scheme file ({err})") from err
    except json.JSONDecodeError as err:
        raise RlevError(f"{path}:{err.lineno}: malformed JSON in scheme file: {err.msg}") from err
    if isinstance(data, dict) and isinstance(data.get("papers"), dict):
        data = {
            k: {**(v.get("marks") or {}), **({"total": v["total"]} if "total" in v else {})}
            for k, v in data["papers"].items()
            if isinstance(v, dict)
        }
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise RlevError(f'{path}: a scheme is {{"<exam_id or *>": {{"<type label>": full_marks}}}}')
    scheme: dict[str, dict[str, Any]] = {}
    for exam, marks in data.items():
        scheme[exam] = {}
        for label, value in marks.items():
            number, reason = parse_number(value)
            if number is None or number < 0 or (label == "total" and number <= 0):
                raise RlevError(
                    f"{path}: {exam!r} / {label!r}: {value!r} is not a valid number of points"
                    + (f" ({reason})" if reason else "")
                )
            scheme[exam][label] = number
    return scheme


def _drop(
    table: pa.Table,
    given: pa.Array,
    mask: np.ndarray,
    reasons: list[str],
    rejects: list[dict],
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


def _summary(row: dict) -> dict:
    return {k: row[k] for k in ("exam_id", "question", "answer", "score", "total") if row.get(k) is not None}


def _apply_scheme(
    table: pa.Table, given: pa.Array, scheme: dict, config: IngestConfig, rejects: list[dict]
) -> tuple[pa.Table, pa.Array]:
    missing = pc.is_null(table["score"]).to_numpy(zero_copy_only=False)
    if not missing.any():
        return table, given
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    sources = np.array(table["total_source"].to_pylist(), dtype=object)
    exams, labels = table["exam_id"].to_pylist(), table["type_label"].to_pylist()
    bad, reasons = np.zeros(len(score), dtype=bool), []
    for i in np.flatnonzero(missing):
        marks = scheme.get(exams[i]) or scheme.get("*")
        if config.unscored and (marks is None or labels[i] not in marks):
            continue  # kept without points: predict-values labels it
        if not scheme:
            bad[i] = True
            reasons.append(
                "no points in the record; pass --scheme FILE with the marks by paper and type (JEEBench has none)"
            )
        elif marks is None or labels[i] not in marks:
            bad[i] = True
            reasons.append(f"no marks for type {labels[i]!r} of exam {exams[i]!r} in {config.scheme}")
        else:
            score[i] = marks[labels[i]]
            if np.isnan(total[i]) and "total" in marks:
                total[i], sources[i] = marks["total"], "scheme"
    table = table.set_column(table.schema.get_field_index("score"), "score", pa.array(score, mask=np.isnan(score)))
    table = table.set_column(table.schema.get_field_index("total"), "total", pa.array(total, mask=np.isnan(total)))
    table = table.set_column(
        table.schema.get_field_index("total_source"), "total_source", pa.array(sources.tolist(), pa.string())
    )
    return _drop(table, given, bad, reasons, rejects)


def _per_exam(exam_ids: pa.ChunkedArray | pa.Array) -> tuple[list[str], np.ndarray]:
    encoded = pc.dictionary_encode(exam_ids)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)


def _exam_points(score: np.ndarray, codes: np.ndarray, sections: np.ndarray | None, n_exams: int) -> np.ndarray:
    """Points of a student's paper: the common part once plus the largest alternative section."""
    score = np.nan_to_num(score)  # unscored rows (--unscored) add nothing
    if sections is None:
        return np.bincount(codes, weights=score, minlength=n_exams)
    common = np.bincount(codes, weights=np.where(pd_isnull(sections), score, 0.0), minlength=n_exams)
    alt: dict[tuple[int, str], float] = {}
    for code, section, points in zip(codes, sections, score, strict=True):
        if section is not None:
            alt[(code, section)] = alt.get((code, section), 0.0) + points
    best = np.zeros(n_exams)
    for (code, _), points in alt.items():
        best[code] = max(best[code], points)
    return common + best


def pd_isnull(values) -> np.ndarray:
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def _resolve_totals(
    table: pa.Table,
    given: pa.Array,
    totals: dict[str, float],
    config: IngestConfig,
    rejects: list[dict],
    warnings: list[str],
) -> tuple[pa.Table, pa.Array, dict[str, dict]]:
    """Record total, then --totals, then --total, then built-in known totals, then (opt-in) the sum.

    Vectorized: the per-exam lookups run over the distinct exams, never over the rows."""
    exams, codes = _per_exam(table["exam_id"])
    n = table.num_rows
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    source = pc.fill_null(table["total_source"], "").to_numpy(zero_copy_only=False).astype(object)
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    known = table["known_total"].to_numpy(zero_copy_only=False).astype(float)
    if totals:
        by_exam = np.array([totals.get(e, np.nan) for e in exams], dtype=float)[codes] if n else np.zeros(0)
        raw_names, raw_codes = _per_exam(table["exam_id_raw"])
        by_raw = np.array([totals.get(r, np.nan) for r in raw_names], dtype=float)[raw_codes] if n else by_exam
        _fill(total, source, np.where(np.isnan(by_exam), by_raw, by_exam), "totals")
    if config.total is not None:
        _fill(total, source, np.full(n, config.total), "flag")
    _fill(total, source, known, "known")
    if config.total_from_sum and n:
        _fill(total, source, _exam_points(score, codes, _sections(table), len(exams))[codes], "sum")
    scored = ~np.isnan(score) if config.unscored else np.ones(n, dtype=bool)
    no_total = scored & np.isnan(total)
    with np.errstate(invalid="ignore"):
        not_positive = scored & ~no_total & ~(total > 0)
        negative = scored & ~no_total & ~not_positive & (score < 0)
        above = scored & ~no_total & ~not_positive & ~negative & (score > total)
    bad = no_total | not_positive | negative | above
    reasons = []
    for i in np.flatnonzero(bad):
        exam = exams[codes[i]]
        if no_total[i]:
            reasons.append(
                f"exam {exam!r} has no total: pass --totals FILE or --total N "
                "(or --total-from-sum if the paper is complete)"
            )
        elif not_positive[i]:
            reasons.append(f"total {total[i]:g} of exam {exam!r} must be > 0")
        elif negative[i]:
            reasons.append(f"negative points {score[i]:g}")
        else:
            reasons.append(f"points {score[i]:g} exceed the exam total {total[i]:g}")
    source[source == ""] = None
    table = table.set_column(table.schema.get_field_index("total"), "total", pa.array(total, mask=np.isnan(total)))
    table = table.set_column(
        table.schema.get_field_index("total_source"), "total_source", pa.array(source, pa.string())
    )
    table, given = _drop(table, given, bad, reasons, rejects)
    return table, given, _exam_totals(table, warnings)


def _fill(total: np.ndarray, source: np.ndarray, candidate: np.ndarray, name: str) -> None:
    """Fill still-missing totals from `candidate` (NaN = none), recording where they came from."""
    take = np.isnan(total) & ~np.isnan(candidate)
    total[take] = candidate[take]
    source[take] = name


def _sections(table: pa.Table) -> np.ndarray | None:
    """Section of each row (None = common part), or None when the table has no sections at all."""
    if table.num_rows == 0 or table["section"].null_count == table.num_rows:
        return None
    return np.array(table["section"].to_pylist(), dtype=object)


def _exam_totals(table: pa.Table, warnings: list[str]) -> dict[str, dict]:
    """Per real exam: total, points, coverage (records that are their own exam have no paper to report)."""
    own = pc.fill_null(table["own_exam"], False)
    if pc.any(own).as_py():
        table = table.filter(pc.invert(own))
    exams, codes = _per_exam(table["exam_id"])
    if not exams:
        return {}
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    points = _exam_points(score, codes, _sections(table), len(exams))
    first = _first_rows(codes, len(exams))
    sources = table["total_source"].take(pa.array(first)).to_pylist()
    report: dict[str, dict] = {}
    low = 0
    for e, exam in enumerate(exams):
        exam_total = float(total[first[e]])
        if np.isnan(exam_total):  # an unscored exam (--unscored)
            report[exam] = {"exam_id": exam, "total": None, "total_source": None, "points": None, "coverage": None}
            continue
        entry = {
            "exam_id": exam,
            "total": exam_total,
            "total_source": sources[e],
            "points": float(points[e]),
            "coverage": round(float(points[e]) / exam_total, 4),
        }
        if points[e] > exam_total + 1e-9:
            entry["sum_exceeds_total"] = True
            warnings.append(
                f"exam {exam!r}: its questions carry {points[e]:g} points, more than its total "
                f"{exam_total:g} (wrong labels or unmarked alternatives?)"
            )
        elif points[e] < LOW_COVERAGE * exam_total:
            low += 1
        report[exam] = entry
    if low:
        warnings.append(
            f"{low} exam(s) cover less than {LOW_COVERAGE:.0%} of their total (incomplete papers: "
            "values stay points / official total)"
        )
    return report


def _first_rows(codes: np.ndarray, n_exams: int) -> np.ndarray:
    """Index of the first row of each exam."""
    first = np.full(n_exams, -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def _normalized(column: pa.Array) -> pa.Array:
    """NFKC, runs of whitespace collapsed to one space, trimmed (the regex runs only where needed)."""
    # ASCII text is its own NFKC form: skip the (costly) normalization when a whole slice is ASCII.
    text = column if pc.all(pc.string_is_ascii(column)).as_py() else pc.utf8_normalize(column, "NFKC")
    messy = pc.match_substring_regex(text, r"\s\s|[\t\n\r\f\v]")
    if pc.any(messy).as_py():
        text = pc.if_else(messy, pc.replace_substring_regex(text, r"\s+", " "), text)
    return pc.utf8_trim_whitespace(text)


def _normalized_pair(question: pa.ChunkedArray, answer: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """`_normalized` questions and answers. Arrow kernels release the GIL, so the long question column is
    cut in two and the pieces run on two threads next to the answers."""
    from concurrent.futures import ThreadPoolExecutor

    question, answer = question.combine_chunks(), answer.combine_chunks()
    half = len(question) // 2
    with ThreadPoolExecutor(2) as pool:
        first, second, answers = pool.map(_normalized, (question[:half], question[half:], answer))
    return pa.concat_arrays([first, second]), answers


def _hash_keys(keys: pa.Array) -> np.ndarray:
    """A stable 64-bit SipHash of each key (pandas' hash_array with its fixed key)."""
    from pandas.util import hash_array

    return hash_array(keys.to_numpy(zero_copy_only=False), categorize=False)


def _hex(hashes: np.ndarray) -> pa.Array:
    """16 hex digits per hash: the question id."""
    hex_text = hashes.astype(">u8").tobytes().hex().encode()
    return pa.array(np.frombuffer(hex_text, dtype="S16")).cast(pa.string())


@dataclass
class SharedQuestions:
    """Questions printed in several papers: kept in each (its own points and total), papers linked."""

    links: list[tuple[str, str]] = field(default_factory=list)  # exam ids sharing a question
    n_questions: int = 0  # distinct questions in more than one paper
    n_rows: int = 0  # rows holding them
    examples: list[dict[str, Any]] = field(default_factory=list)


def _build_questions(
    table: pa.Table, given: pa.Array, rejects: list[dict], config: IngestConfig
) -> tuple[pa.Table, SharedQuestions]:
    n = table.num_rows
    question, answer = _normalized_pair(table["question"], table["answer"])
    key = pc.binary_join_element_wise(question, answer, "\x1f")
    key = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
    hashes = _hash_keys(key)
    ids = _hex(hashes)
    has_given = n and given.null_count < n
    if has_given:
        ids = pc.if_else(pc.is_null(given), ids, given)
    shared = SharedQuestions()
    # The first occurrence of a (question, answer) in a paper - and of each given id - is kept; a later
    # copy in the same paper, or where either copy has no exam id, is a duplicate. The same question in
    # another paper is kept there too, with that paper's points (#11 item 7). Duplicates are found on
    # the 64-bit hashes, then confirmed on the keys themselves.
    import pandas as pd

    dup_key = pd.Series(hashes).duplicated().to_numpy()
    dup_id = pd.Series(ids.to_numpy(zero_copy_only=False)).duplicated().to_numpy() if has_given else np.zeros(n, bool)
    if dup_key.any() or dup_id.any():
        key_list = key.to_pylist()
        exam_list = table["exam_id"].to_pylist()
        own = pc.fill_null(table["own_exam"], False).to_numpy(zero_copy_only=False)
        given_list = given.to_pylist() if has_given else [None] * n
        first_by_key: dict[str, int] = {}
        first_in_exam: dict[tuple[str, str], int] = {}
        id_list = ids.to_pylist()
        first_by_id: dict[str, int] = {}
        drop = np.zeros(n, dtype=bool)
        copies: list[tuple[int, bool]] = []  # (kept row, same question?) per dropped row, in row order
        several: dict[str, list[int]] = {}
        for i in range(n):
            earlier = first_by_key.setdefault(key_list[i], i)
            in_exam = first_in_exam.setdefault((key_list[i], exam_list[i]), i)
            if earlier != i and (in_exam != i or own[i] or own[earlier]):
                drop[i] = True
                copies.append((in_exam if in_exam != i else earlier, True))
                continue
            if earlier != i:
                several.setdefault(key_list[i], [earlier]).append(i)
                if given_list[i] is None:  # a copy in another paper gets its own id (hash of key + exam)
                    id_list[i] = None
                    if given_list[earlier] is None:
                        id_list[earlier] = None
            same_id = first_by_id.setdefault(id_list[i], i) if id_list[i] is not None else i
            if same_id != i:
                drop[i] = True
                copies.append((same_id, False))
        if several:
            rows = [i for members in several.values() for i in members if not drop[i]]
            paper_keys = pa.array([key_list[i] + "\x1f" + exam_list[i] for i in rows], pa.string())
            for i, paper_id in zip(rows, _hex(_hash_keys(paper_keys)).to_pylist(), strict=True):
                if id_list[i] is None:
                    id_list[i] = paper_id
            for members in several.values():
                papers = [exam_list[i] for i in members if not drop[i]]
                shared.links.extend((papers[0], other) for other in papers[1:])
                if len(shared.examples) < 20:
                    shared.examples.append({"question": _short(key_list[members[0]]), "exams": papers})
            shared.n_questions, shared.n_rows = len(several), len(rows)
        kept_ids = [id_list[kept] for kept, _ in copies]
        reasons = [
            f"duplicate of {kept_id} (same question and answer)"
            if same_question
            else f"duplicate id {kept_id!r} with a different question"
            for kept_id, (_, same_question) in zip(kept_ids, copies, strict=True)
        ]
        ids = pa.array(id_list, pa.string())
        before = len(rejects)
        table, ids = _drop(table, ids, drop, reasons, rejects)
        for rej, kept in zip(rejects[before:], kept_ids, strict=True):
            rej["duplicate_of"] = kept
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    flags = table["flags"]
    if (score == 0).any():
        flag_list = flags.to_pylist()
        for i in np.flatnonzero(score == 0):
            flag_list[i] = [*(flag_list[i] or []), "zero_points"]
        flags = pa.array(flag_list, pa.list_(pa.string()))
    m = table.num_rows
    value = score / total if m else np.zeros(0)
    unscored = np.isnan(score)
    language = table["language"]
    if m and language.null_count:
        language = pc.if_else(pc.is_null(language), splits.detect_language(question_of(table)), language)
    columns = {
        "id": ids,
        "value": pa.array(value, mask=unscored),
        "value_source": _two_values(unscored, "score", "none"),
        "score": pa.array(score, mask=unscored),
        "total": pa.array(total, mask=np.isnan(total)),
        "language": language,
        "flags": flags,
    }
    questions = pa.table(
        {f.name: columns[f.name] if f.name in columns else table[f.name] for f in QUESTIONS if f.name != "split"}
    )
    questions = questions.append_column("split", table["split"])
    return questions.append_column("own_exam", table["own_exam"]), shared


def question_of(table: pa.Table) -> pa.Array:
    column = table["question"]
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _short(key: str) -> str:
    text = key.split("\x1f")[0]
    return text if len(text) <= 80 else text[:79] + "…"


def _two_values(mask: np.ndarray, no: str, yes: str) -> pa.Array:
    """A string column holding `yes` where mask else `no`, built without a Python object per row."""
    return pa.DictionaryArray.from_arrays(pa.array(mask.astype(np.int8)), pa.array([no, yes])).cast(pa.string())


def _split(
    questions: pa.Table, shared: SharedQuestions, config: IngestConfig, warnings: list[str]
) -> tuple[pa.Table, dict]:
    """The split column (kept as released, else drawn by exam: see splits.py) and how it was decided."""
    exams, codes = _per_exam(questions["exam_id"])
    code_of = {exam: e for e, exam in enumerate(exams)}
    links = [(code_of[a], code_of[b]) for a, b in shared.links if a in code_of and b in code_of]
    split = questions["split"].combine_chunks() if questions.num_rows else pa.array([], pa.string())
    values, info = splits.assign_splits(split, exams, codes, links, config.test_fraction, config.seed, warnings)
    own = pc.sum(pc.fill_null(questions["own_exam"], False)).as_py() or 0
    info["unit"] = "exam" if not own else "record (no exam id in the input: each record is its own exam)"
    info["records_as_own_exam"] = int(own)
    if info["drawn"]:
        info.update(seed=config.seed, test_fraction=config.test_fraction)
    table = pa.table({f.name: values if f.name == "split" else questions[f.name] for f in QUESTIONS}, schema=QUESTIONS)
    return table, info


def _exam_report(questions: pa.Table, exams: dict[str, dict]) -> tuple[list[dict], int]:
    """One manifest entry per real exam (records that are their own exam are only counted), and the
    number of exams."""
    names, codes = _per_exam(questions["exam_id"])
    if not names:
        return [], 0
    counts = np.bincount(codes, minlength=len(names))
    splits = questions["split"].take(pa.array(_first_rows(codes, len(names)))).to_pylist()
    rows = [
        {**exams[name], "questions": int(counts[e]), "split": splits[e]}
        for e, name in enumerate(names)
        if name in exams
    ]
    return rows, len(names)


def _check_counts(n_records: int, n_questions: int, n_rejects: int) -> None:
    if n_records != n_questions + n_rejects:  # a bug, not a user error: keep the traceback
        raise AssertionError(f"records in {n_records} != questions {n_questions} + rejects {n_rejects}")


def _any_flags(questions: pa.Table) -> bool:
    lengths = pc.list_value_length(questions["flags"])
    return bool(pc.max(pc.fill_null(lengths, 0)).as_py() or 0)


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary: question ids and bare numbers (row-specific) become '…'; quoted
    column names and values stay, and nothing is cut, so a group keeps its remedy."""
    import re

    parts = re.split(r"('[^']*')", reason)  # odd parts are quoted: kept as written
    return "".join(
        part if i % 2 else re.sub(r"\b[0-9a-f]{16}\b|(?<![\w.-])\d+(?:\.\d+)?(?![\w-])", "…", part)
        for i, part in enumerate(parts)
    )
