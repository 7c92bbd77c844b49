"""KSAT-AI-Benchmark YAML (Korean CSAT): questions with `points`, passages, elective sections.

A student sits the common part plus ONE elective, so the paper total (100) covers common + one
elective. Questions keep their own points over that total; each elective is recorded in `section`, and
the sum check counts the common part once plus the largest elective.
"""

from __future__ import annotations

from typing import Any

from rlev_cli.ingest.numbers import parse_number
from rlev_cli.ingest.records import ReadResult, candidate, record_json, reject

KSAT_SECTION_TOTAL = 100.0  # every CSAT section is out of 100 (exams/README.md upstream: total_points 100)
_LETTERS = "ABCDEFGHIJ"
_LANGUAGE = {"korean": "ko", "math": "ko", "english": "en"}


def looks_like_ksat(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("questions"), list) and "exam_id" in data


def read_ksat(data: dict[str, Any], source: str) -> ReadResult:
    """A KSAT exam file (exam_id, passages, questions with points): one candidate per question, its
    passage prepended; questions without points, text or answer are rejects."""
    rows, rejects = [], []
    passages = {
        p.get("passage_id"): p.get("passage_text", "") for p in data.get("passages") or [] if isinstance(p, dict)
    }
    exam_id = f"ksat-{str(data['exam_id']).strip()}"
    subject = data.get("subject")
    total = _declared_total(data)
    for position, item in enumerate(data["questions"]):
        where = f"{source}#questions[{position}]"
        if not isinstance(item, dict):
            rejects.append(reject(where, f"item is a {type(item).__name__}, not a mapping", item))
            continue
        qid = item.get("question_id", position)
        where = f"{source}#{qid}"
        points, reason = parse_number(item.get("points"))
        if reason or points is None:
            rejects.append(reject(where, f"'points': {reason or 'missing'}", item, exam_id))
            continue
        text = item.get("question_text")
        if not isinstance(text, str) or not text.strip():
            rejects.append(reject(where, "'question_text' is missing or empty", item, exam_id))
            continue
        correct = item.get("correct_answer")
        if correct is None or isinstance(correct, bool) or str(correct).strip() == "":
            rejects.append(reject(where, "'correct_answer' is missing", item, exam_id))
            continue
        choices = [str(c) for c in item.get("choices") or []]
        flags: list[str] = []
        if choices:
            index, reason = parse_number(correct)
            if reason or index is None or index != int(index) or not 1 <= index <= len(choices):
                rejects.append(
                    reject(
                        where, f"'correct_answer' {correct!r} is not an option number 1..{len(choices)}", item, exam_id
                    )
                )
                continue
            qtype, answer = "single_choice", _LETTERS[int(index) - 1]
            body = text.strip() + "\n" + "\n".join(f"({_LETTERS[i]}) {c}" for i, c in enumerate(choices))
        else:
            qtype, answer, body = "numeric", str(correct).strip(), text.strip()
            if answer.isdigit() and 1 <= int(answer) <= 5:
                flags.append("answer_suspect")  # short answers 1-5 look like leaked option indices
        passage = passages.get(item.get("passage_id"))
        if passage:
            body = f"{passage.strip()}\n\n{body}"
        section = item.get("subject_type")
        section = None if section in (None, "common") else str(section)
        if section:
            flags.append("elective")
        rows.append(
            candidate(
                question=body,
                answer=answer,
                score=points,
                total=total,
                total_source="record" if total else None,
                known_total=KSAT_SECTION_TOTAL,
                exam_id=exam_id,
                exam_id_raw=str(data["exam_id"]),
                subject=subject,
                language=_LANGUAGE.get(str(subject), "ko"),
                qtype=qtype,
                type_label="choice" if choices else "short_answer",
                options=choices or None,
                n_slots=1,
                section=section,
                source=where,
                flags=flags,
                record=record_json(item),
            )
        )
    return ReadResult.from_rows("ksat", rows, rejects, len(data["questions"]))


def _declared_total(data: dict[str, Any]) -> float | None:
    for key in ("total_points", "total"):
        value, _ = parse_number(data.get(key))
        if value is not None:
            return value
    return None
