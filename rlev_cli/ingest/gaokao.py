"""GAOKAO-Bench and GAOKAO-Bench-Updates JSON: {"keywords": ..., "example": [...]}.

Objective items (answer is a list of slots) carry points per slot: item points = score × slots, as in
GAOKAO-Bench's Bench/OBJ_score_evaluation.py. Subjective items (answer is a string) carry item points.
"""

from __future__ import annotations

import re
from typing import Any

from rlev_cli.ingest.numbers import parse_number
from rlev_cli.ingest.papers import gaokao_exam
from rlev_cli.ingest.records import ReadResult, Reject, candidate, record_json, reject

# "（5分）", "(12 分)", "（ 2分）": item points written in the stem.
_IN_TEXT_POINTS = re.compile(r"[（(]\s*(\d+(?:\.\d+)?)\s*分\s*[）)]")
# A section header line before the item ("一、现代文阅读（ 35分）") is not the item's points.
_SECTION_HEADER = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．][^\n]*$")
_LETTERS = re.compile(r"^[A-Ga-g]+$")
_NUMERIC = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def looks_like_gaokao(data: Any) -> bool:
    return (
        isinstance(data, dict) and isinstance(data.get("example"), list) and ("keywords" in data or "keyword" in data)
    )


def in_text_points(question: str) -> float | None:
    """The item's own "(N分)", skipping section-header lines such as "一、现代文阅读（ 35分）"."""
    for line in question.splitlines():
        if _SECTION_HEADER.match(line):
            continue
        match = _IN_TEXT_POINTS.search(line)
        if match:
            return float(match.group(1))
    return None


def read_gaokao(data: dict[str, Any], source: str, stem: str) -> ReadResult:
    """A GAOKAO-Bench file ({"keywords", "example": [...]}): one candidate per item, points from its
    `score` (per answer slot for objective items), the paper from its year and category; a "(N分)" in
    the question that disagrees is flagged and listed in the notes."""
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    mismatches: list[dict[str, Any]] = []
    items = data["example"]
    for position, item in enumerate(items):
        where = f"{source}#example[{position}]"
        if not isinstance(item, dict):
            rejects.append(reject(where, f"item is a {type(item).__name__}, not an object", item))
            continue
        row, reason = _gaokao_item(item, where, stem)
        if reason:
            rejects.append(reject(where, reason, item))
            continue
        written = in_text_points(row["question"])
        item_points = row["score"]
        if written is not None and abs(written - item_points) > 1e-9:
            row["flags"].append("in_text_points_mismatch")
            mismatches.append(
                {"source": where, "exam_id": row["exam_id"], "field_points": item_points, "text_points": written}
            )
        rows.append(row)
    return ReadResult.from_rows("gaokao", rows, rejects, len(items), {"in_text_points_mismatch": mismatches})


def _gaokao_item(item: dict[str, Any], where: str, stem: str) -> tuple[dict[str, Any], str | None]:
    missing = [k for k in ("year", "category", "question", "answer", "score") if k not in item]
    if missing:
        return {}, f"missing field(s) {', '.join(missing)}"
    question, answer = item["question"], item["answer"]
    if not isinstance(question, str) or not question.strip():
        return {}, "'question' is empty or not a string"
    if not isinstance(item["category"], str):
        return {}, "'category' is not a string"
    points, reason = parse_number(item["score"])
    if reason or points is None:
        return {}, f"'score': {reason or 'missing'}"
    flags: list[str] = []
    year = item["year"]
    if isinstance(year, int) and not isinstance(year, bool):
        flags.append("year_type_mixed")
        year = str(year)
    if not isinstance(year, str) or not year.strip().isdigit():
        return {}, f"'year' {item['year']!r} is not a year"
    exam_id, known_total, subject, exam_flags = gaokao_exam(year.strip(), item["category"], stem)
    if exam_id is None:
        if not item["category"].strip():
            return {}, "'category' is empty; cannot tell the exam"
        return {}, f"'category' holds no paper name ({item['category'][:40]!r}…); cannot tell the exam"
    if isinstance(answer, list):  # objective: one slot per answer; points are per slot
        slots = [str(a).strip().upper() for a in answer]
        if not slots or not all(_LETTERS.match(s) for s in slots):
            return {}, f"objective answer {answer!r} is not a list of option letters"
        n_slots = len(slots)
        score = points * n_slots
        if n_slots == 1:
            qtype = "multi_choice" if len(slots[0]) > 1 else "single_choice"
            answer_text = "".join(sorted(slots[0])) if qtype == "multi_choice" else slots[0]
        else:
            qtype, answer_text = "single_choice", ",".join(slots)
    elif isinstance(answer, str):
        if not answer.strip():
            return {}, "'answer' is empty"
        n_slots, score, answer_text = 1, points, answer.strip()
        if "open-ended" in stem.lower():
            qtype = "free_form"
        else:
            qtype = "numeric" if _NUMERIC.match(answer_text) else "fill_blank"
    else:
        return {}, f"'answer' is a {type(answer).__name__}, expected a list (objective) or a string"
    return candidate(
        question=question,
        answer=answer_text,
        score=score,
        known_total=known_total,
        exam_id=exam_id,
        exam_id_raw=f"{item['year']} {item['category']}".strip(),
        subject=subject,
        language="en" if subject == "english" else "zh",
        qtype=qtype,
        type_label=stem,
        n_slots=n_slots,
        source=where,
        flags=flags + exam_flags,
        record=record_json(item),
    ), None
