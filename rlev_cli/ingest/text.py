"""Plain-text / Markdown exam papers: numbered questions with inline points and an answer key.

The accepted syntax is documented in docs/exam-text-format.md. In short: an optional title line, a
stated total ("满分150分", "Total: 100 points"), section rules ("每小题5分", "2 points each") that
carry over to the following questions, numbered questions ("1." "2．" "3、" "4)") with inline points
("（5分）", "(5 points)", "[3 marks]"), option lines ("A. …"), and answers either inline
("答案：B", "Answer: B"), in an answer-key section ("参考答案", "Answer key") or in a sibling file
`<stem>.answers.txt`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from rlev_cli.ingest.records import ReadResult, candidate, reject
from rlev_cli.ingest.table import infer_qtypes

_NUM = r"(\d+(?:\.\d+)?)"
ITEM_POINTS = [
    re.compile(rf"[（(]\s*{_NUM}\s*分\s*[）)]"),
    re.compile(rf"[（(\[]\s*{_NUM}\s*(?:points?|pts?|marks?)\s*[）)\]]", re.I),
]
SECTION_RULES = [
    re.compile(rf"每(?:小)?题\s*{_NUM}\s*分"),
    re.compile(rf"\b{_NUM}\s*(?:points?|marks?)\s+each\b", re.I),
    re.compile(rf"\beach\s+(?:question\s+)?(?:is\s+worth|carries|scores?)\s+{_NUM}\s*(?:points?|marks?)", re.I),
]
PAPER_TOTAL = [
    re.compile(rf"满分\s*[:：]?\s*{_NUM}\s*分"),
    re.compile(rf"\b(?:total|full\s+marks|maximum\s+marks?)\s*[:：]?\s*{_NUM}\s*(?:points?|marks?)?\b", re.I),
]
QUESTION = re.compile(r"^\s*(?:#+\s*)?(?:question\s+|第\s*)?(\d{1,3})\s*(?:题)?\s*[.．、):：]\s*(.*)$", re.I)
OPTION = re.compile(r"^\s*\(?([A-J])\s*[.．、)]\s*(.+)$")
INLINE_ANSWER = re.compile(r"^\s*(?:【?答案】?|answer)\s*[:：]\s*(.+)$", re.I)
KEY_HEADING = re.compile(r"^\s*(?:#+\s*)?(?:参考答案|答案|answer\s*key|answers)\s*[:：]?\s*$", re.I)
SECTION_HEADING = re.compile(r"^\s*(?:#+\s*|[一二三四五六七八九十]+\s*[、.．]|part\s+[ivx\d]+\b|section\s+\w+)", re.I)
TITLE = re.compile(r"^\s*#\s+(.+)$")


def answer_file_for(path: Path) -> Path | None:
    for suffix in (".answers.txt", ".answers.md", ".key.txt"):
        candidate_path = path.with_name(path.name.split(".")[0] + suffix)
        if candidate_path.exists() and candidate_path != path:
            return candidate_path
    return None


def is_answer_file(path: Path) -> bool:
    return path.name.endswith((".answers.txt", ".answers.md", ".key.txt"))


def read_text(text: str, source: str, path: Path, answers_text: str | None) -> ReadResult:
    lines = text.splitlines()
    exam_id = path.stem
    total = None
    rule_points: float | None = None
    questions: list[dict] = []
    key: dict[int, str] = {}
    in_key = False
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if KEY_HEADING.match(line):
            in_key = True
            continue
        if in_key:
            match = QUESTION.match(line)
            if match and match.group(2).strip():
                key[int(match.group(1))] = match.group(2).strip()
            continue
        title = TITLE.match(line)
        if title and not questions:
            exam_id = title.group(1).strip()
        for pattern in PAPER_TOTAL:
            found = pattern.search(line)
            if found and total is None:
                total = float(found.group(1))
        match = QUESTION.match(line)
        if match and match.group(2).strip():
            questions.append(
                {
                    "number": int(match.group(1)),
                    "line": line_no,
                    "lines": [match.group(2)],
                    "options": [],
                    "answer": None,
                    "rule": rule_points,
                }
            )
            continue
        if SECTION_HEADING.match(line) or not questions:
            for pattern in SECTION_RULES:
                found = pattern.search(line)
                if found:
                    rule_points = float(found.group(1))
                    break
            else:
                if SECTION_HEADING.match(line) and questions:
                    rule_points = None  # a new section without a rule: points must be inline
            continue
        current = questions[-1]
        inline = INLINE_ANSWER.match(line)
        if inline:
            current["answer"] = inline.group(1).strip()
            continue
        option = OPTION.match(line)
        if option:
            current["options"].append(option.group(2).strip())
        current["lines"].append(line.strip())
    if answers_text:
        for line in answers_text.splitlines():
            match = QUESTION.match(line)
            if match and match.group(2).strip():
                key.setdefault(int(match.group(1)), match.group(2).strip())
    return _to_result(questions, key, exam_id, total, source)


def _to_result(
    questions: list[dict], key: dict[int, str], exam_id: str, total: float | None, source: str
) -> ReadResult:
    rows, rejects = [], []
    if not questions:
        return ReadResult.from_rows(
            "text", [], [reject(source, "no numbered questions found (see docs/exam-text-format.md)")], 1
        )
    answers = [q["answer"] or key.get(q["number"]) for q in questions]
    qtypes = infer_qtypes(pa.array([a or "" for a in answers])).to_pylist()
    for q, answer, qtype in zip(questions, answers, qtypes, strict=True):
        where = f"{source}:{q['line']} (question {q['number']})"
        body = "\n".join(q["lines"]).strip()
        points = None
        for pattern in ITEM_POINTS:
            found = pattern.search(body)
            if found:
                points = float(found.group(1))
                break
        if points is None:
            points = q["rule"]
        record = {"number": q["number"], "question": body, "answer": answer}
        if points is None:
            rejects.append(
                reject(
                    where,
                    "no points: write them inline ('（5分）', '(5 points)') or in a section rule ('每小题5分')",
                    record,
                    exam_id,
                )
            )
            continue
        if not answer:
            rejects.append(
                reject(
                    where,
                    f"no answer: add 'Answer: …', an answer-key section or {Path(source).stem}.answers.txt",
                    record,
                    exam_id,
                )
            )
            continue
        if q["options"] and qtype == "multi_choice":
            answer = "".join(sorted(answer.upper()))
        rows.append(
            candidate(
                question=body,
                answer=answer,
                score=points,
                total=total,
                total_source="record" if total is not None else None,
                exam_id=exam_id,
                exam_id_raw=exam_id,
                qtype=qtype,
                type_label=qtype,
                options=q["options"] or None,
                n_slots=1,
                source=where,
                record=None,
            )
        )
    return ReadResult.from_rows("text", rows, rejects, len(questions))
