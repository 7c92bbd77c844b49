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
from typing import Any

import pyarrow as pa

from rlev_cli.ingest.qtypes import infer_qtypes
from rlev_cli.ingest.records import ReadResult, UnusableFile, candidate, reject

_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = r"(?:points?|pts?|marks?|m)"
ITEM_POINTS = [
    re.compile(rf"[（(]\s*{_NUM}\s*分\s*[）)]"),
    re.compile(rf"[（(\[【]\s*{_NUM}\s*{_UNIT}\.?\s*[）)\]】]", re.I),  # (4 points) [4 marks] (2 pts) [3m]
    re.compile(rf"[（(\[]\s*(?:total\s*[:：]?\s*)?{_NUM}\s*(?:points?|marks?)\s*[）)\]]", re.I),  # [Total 4 marks]
]
SECTION_RULES = [
    re.compile(rf"每(?:小)?题\s*{_NUM}\s*分"),
    re.compile(rf"\b{_NUM}\s*(?:points?|marks?)\s+(?:each|per\s+question)\b", re.I),  # 4 marks each
    re.compile(
        rf"\beach\s+(?:question\s+|item\s+)?(?:is\s+worth|carries|scores?|worth|=)?\s*{_NUM}\s*(?:points?|marks?)", re.I
    ),
]
PAPER_TOTAL = [
    re.compile(rf"满分\s*[:：]?\s*{_NUM}\s*分"),
    re.compile(
        rf"\b(?:total(?:\s+(?:marks?|points?))?|full\s+marks|maximum\s+marks?)\s*[:：]?\s*{_NUM}\s*(?:points?|marks?)?\b",
        re.I,
    ),
]
# A numbered question: "1." "2．" "3、" "4)" "5:" "Q1." "Q 2)" "Question 3:" "Question 4" "第5题" (a period
# before a digit is a decimal, not a number: "1.5 kg ..."). "(1)" / "（1）" number questions only in a
# paper whose first question is numbered that way; elsewhere they are sub-parts of a question.
QUESTION = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?(?:(?:q(?:uestion)?\.?\s*|第\s*)(?P<w>\d{1,3})\s*题?\s*(?:\*\*)?\s*(?:[.．、):：](?!\d))?"
    r"|(?P<n>\d{1,3})\s*(?:\*\*)?\s*(?:[.．](?!\d)|[、):：]))\s*(?:\*\*)?\s*(?P<rest>.*)$",
    re.I,
)
PAREN_QUESTION = re.compile(r"^\s*[（(]\s*(?P<n>\d{1,3})\s*[)）]\s*(?P<rest>.*)$")
# Several short answers on one key line: "1. B  2. C  3) AD" / "Q1 B, Q2 C".
KEY_PAIR = re.compile(r"(?:[qQ]\.?\s*)?[（(]?(\d{1,3})\s*[)）.．、:：\-–]?\s+([A-J]{1,10})(?=$|[\s,;，；])")
OPTION = re.compile(r"^\s*\(?([A-J])\s*[.．、)]\s*(.+)$")
INLINE_ANSWER = re.compile(r"^\s*(?:【?答案】?|(?:correct\s+)?answer|ans\.?)\s*[:：]\s*(.+)$", re.I)
KEY_HEADING = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?(?:参考答案|答案|answer\s*key|answers|mark\s+scheme|marking\s+scheme)\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*$",
    re.I,
)
SECTION_HEADING = re.compile(r"^\s*(?:#+\s*|[一二三四五六七八九十]+\s*[、.．]|part\s+[ivx\d]+\b|section\s+\w+)", re.I)
TITLE = re.compile(r"^\s*#\s+(.+)$")


def read_text(text: str, source: str, path: Path, answers_text: str | None) -> ReadResult:
    """A plain-text or Markdown paper (syntax in the module docstring; `answers_text` is the sibling
    answer file, if any): one candidate per numbered question; the exam id is the title line, else the file stem."""
    lines = text.splitlines()
    exam_id = path.stem
    total = None
    rule_points: float | None = None
    questions: list[dict[str, Any]] = []
    key: dict[int, str] = {}
    in_key = False
    paren_style: bool | None = None  # whether "(1)" numbers questions (decided by the first question)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if KEY_HEADING.match(line):
            in_key = True
            continue
        if in_key:
            _key_line(line, key)
            continue
        title = TITLE.match(line)
        if title and not questions:
            exam_id = title.group(1).strip()
        for pattern in PAPER_TOTAL if not questions or SECTION_HEADING.match(line) else ():
            found = pattern.search(line)  # "[Total 8 marks]" inside a question is that question's points
            if found and total is None:
                total = float(found.group(1))
        number, rest = _question_start(line, paren_style)
        if number is not None:
            if paren_style is None:
                paren_style = bool(PAREN_QUESTION.match(line))
            questions.append(
                {
                    "number": number,
                    "line": line_no,
                    "lines": [rest] if rest else [],
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
        file_key: dict[int, str] = {}
        for line in answers_text.splitlines():
            _key_line(line, file_key)
        for number, answer in file_key.items():
            key.setdefault(number, answer)
    return _to_result(questions, key, exam_id, total, source)


def _question_start(line: str, paren_style: bool | None) -> tuple[int | None, str]:
    """(number, rest of the line) when `line` starts a question, else (None, "")."""
    match = QUESTION.match(line)
    if match:
        rest = match.group("rest").strip()
        if match.group("w"):  # "Question 4" / "Q4" may stand alone, the text on the next lines
            return int(match.group("w")), rest
        if rest:
            return int(match.group("n")), rest
    if paren_style is not False:
        match = PAREN_QUESTION.match(line)
        if match and match.group("rest").strip():
            return int(match.group("n")), match.group("rest").strip()
    return None, ""


def _key_line(line: str, key: dict[int, str]) -> None:
    """Answers on one answer-key line: several short ones ("1. B 2. C") or one ("3. x = 4")."""
    pairs = KEY_PAIR.findall(line)
    if len(pairs) >= 2:
        for number, answer in pairs:
            key.setdefault(int(number), answer.strip())
        return
    number, rest = _question_start(line, None)
    if number is not None and rest:
        key.setdefault(int(number), rest)


def _to_result(
    questions: list[dict[str, Any]], key: dict[int, str], exam_id: str, total: float | None, source: str
) -> ReadResult:
    rows, rejects = [], []
    if not questions:
        raise UnusableFile("no numbered questions found (see docs/exam-text-format.md)")
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
