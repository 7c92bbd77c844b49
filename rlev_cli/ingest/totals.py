"""Points and totals: marking schemes for data without points, and T_i for every exam, in order of
trust (record, --totals, --total, known, scheme, opt-in sum); per-exam points and coverage.

Vectorized: per-exam lookups run over the distinct exams, never over the rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.errors import RlevError
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.ingest.numbers import parse_number
from rlev_cli.ingest.records import Reject, drop_rows, first_rows, per_exam

LOW_COVERAGE = 0.5


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


class ExamTotal(TypedDict):
    """One exam of the manifest's "exams" list: its total, where the total came from, the points its
    questions carry and their share of the total (all None for an unscored exam)."""

    exam_id: str
    total: float | None
    total_source: str | None
    points: float | None
    coverage: float | None
    sum_exceeds_total: NotRequired[bool]


def load_scheme(path: Path) -> dict[str, dict[str, float]]:
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
    scheme: dict[str, dict[str, float]] = {}
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


def apply_scheme(
    table: pa.Table, given: pa.Array, scheme: dict[str, dict[str, float]], config: IngestConfig, rejects: list[Reject]
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
    return drop_rows(table, given, bad, reasons, rejects)


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


def pd_isnull(values: np.ndarray) -> np.ndarray:
    return np.fromiter((v is None for v in values), dtype=bool, count=len(values))


def resolve_totals(
    table: pa.Table,
    given: pa.Array,
    totals: dict[str, float],
    config: IngestConfig,
    rejects: list[Reject],
    warnings: list[str],
) -> tuple[pa.Table, pa.Array, dict[str, ExamTotal]]:
    """Record total, then --totals, then --total, then built-in known totals, then (opt-in) the sum.

    Vectorized: the per-exam lookups run over the distinct exams, never over the rows."""
    exams, codes = per_exam(table["exam_id"])
    n = table.num_rows
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    source = pc.fill_null(table["total_source"], "").to_numpy(zero_copy_only=False).astype(object)
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    known = table["known_total"].to_numpy(zero_copy_only=False).astype(float)
    if totals:
        by_exam = np.array([totals.get(e, np.nan) for e in exams], dtype=float)[codes] if n else np.zeros(0)
        raw_names, raw_codes = per_exam(table["exam_id_raw"])
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
    table, given = drop_rows(table, given, bad, reasons, rejects)
    return table, given, exam_totals(table, warnings)


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


def exam_totals(table: pa.Table, warnings: list[str]) -> dict[str, ExamTotal]:
    """Per real exam: total, points, coverage (records that are their own exam have no paper to report)."""
    own = pc.fill_null(table["own_exam"], False)
    if pc.any(own).as_py():
        table = table.filter(pc.invert(own))
    exams, codes = per_exam(table["exam_id"])
    if not exams:
        return {}
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    points = _exam_points(score, codes, _sections(table), len(exams))
    first = first_rows(codes, len(exams))
    sources = table["total_source"].take(pa.array(first)).to_pylist()
    report: dict[str, ExamTotal] = {}
    low = 0
    for e, exam in enumerate(exams):
        exam_total = float(total[first[e]])
        if np.isnan(exam_total):  # an unscored exam (--unscored)
            report[exam] = {"exam_id": exam, "total": None, "total_source": None, "points": None, "coverage": None}
            continue
        entry: ExamTotal = {
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


def exam_report(questions: pa.Table, exams: dict[str, ExamTotal]) -> tuple[list[dict[str, Any]], int]:
    """One manifest entry per real exam (records that are their own exam are only counted), and the
    number of exams."""
    names, codes = per_exam(questions["exam_id"])
    if not names:
        return [], 0
    counts = np.bincount(codes, minlength=len(names))
    splits = questions["split"].take(pa.array(first_rows(codes, len(names)))).to_pylist()
    rows = [
        {**exams[name], "questions": int(counts[e]), "split": splits[e]}
        for e, name in enumerate(names)
        if name in exams
    ]
    return rows, len(names)
