"""Checking an extracted answer against the reference, by question type. 1.0 / 0.0, or None when the
item cannot be graded by rule (free-form answers without a judge)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rlev_cli.verify.extract import extract_final_answer, last_boxed

NUMERIC_ABS_TOL = 0.01  # JEEBench's own scorer accepts |gold - response| <= 0.01
NUMERIC_REL_TOL = 1e-4
_LETTER_RUN = re.compile(r"(?<![A-Za-z])([A-J](?:\s*[,，、和与and&]*\s*[A-J])*)(?![A-Za-z])")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _letters(text: str) -> list[str]:
    """Option letters in an answer: 'B', '(B)', 'A and C', 'A, C', 'AC'."""
    text = unicodedata.normalize("NFKC", text).replace("$", "").replace("\\text{", "").replace("}", "")
    runs = _LETTER_RUN.findall(text)
    if not runs:
        return []
    return re.findall(r"[A-J]", runs[0])


def check_choice(answer: str, reference: str, multi: bool) -> float:
    if "," in reference:  # several slots sharing one stem: letters in order
        wanted = reference.split(",")
        found = re.findall(r"(?<![A-Za-z])[A-J](?![A-Za-z])", unicodedata.normalize("NFKC", answer))
        return float(found[: len(wanted)] == wanted and len(found) >= len(wanted))
    letters = _letters(answer)
    if multi:
        return float(sorted(set(letters)) == sorted(set(reference)))
    return float(len(letters) >= 1 and letters[0] == reference.strip().upper())


def to_number(text: str) -> float | None:
    """The first number in a text ('1,000' -> 1000.0, '3/4' -> 0.75, '\\frac{3}{4}' -> 0.75)."""
    text = unicodedata.normalize("NFKC", text)
    frac = re.search(r"\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}", text) or re.search(r"(-?\d+)\s*/\s*(\d+)", text)
    if frac:
        try:
            return float(frac.group(1)) / float(frac.group(2))
        except (ValueError, ZeroDivisionError):
            pass
    match = _NUMBER.search(text)
    if not match:
        return None
    try:
        return float(match.group(0).replace(",", ""))
    except ValueError:
        return None


def check_numeric(answer: str, reference: str) -> float | None:
    gold = to_number(reference)
    if gold is None:
        return check_text(answer, reference)
    got = to_number(answer)
    if got is None:
        return 0.0
    return float(abs(got - gold) <= max(NUMERIC_ABS_TOL, NUMERIC_REL_TOL * abs(gold)) + 1e-9)


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\\(?:text|mathrm)\{([^{}]*)\}", r"\1", text)
    return re.sub(r"[\s$。.,，、:：;；!！?？\"'“”‘’()（）\[\]{}]", "", text)


def check_text(answer: str, reference: str) -> float:
    return float(normalize_text(answer) == normalize_text(reference) and normalize_text(reference) != "")


def _quiet_math_verify() -> None:
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every call without timeouts


def check_math(answer: str, reference: str) -> float:
    """math-verify equivalence, falling back to normalized text; `\\#\\#` separates accepted forms."""
    forms = [f.strip() for f in re.split(r"\\#\s*\\#", reference) if f.strip()] or [reference]
    for form in forms:
        if check_text(answer, form):
            return 1.0
        try:
            from math_verify import parse, verify

            _quiet_math_verify()
            gold = parse(_as_math(form), parsing_timeout=None)
            pred = parse(_as_math(answer), parsing_timeout=None)
            if gold and pred and verify(gold, pred, timeout_seconds=None):
                return 1.0
        except Exception:  # math-verify raises on exotic LaTeX; such an answer is simply not matched
            continue
    return 0.0


def _as_math(text: str) -> str:
    text = text.strip()
    return text if "$" in text or "\\boxed" in text else f"${text}$"


def check(response: str, reference: str, qtype: str) -> float | None:
    """Grade one response: extract its final answer, then compare by `qtype`.

    >>> check("... Therefore, the answer is (B).", "B", "single_choice")
    1.0
    >>> check("Therefore, the answer is A and C", "AC", "multi_choice")
    1.0
    >>> check("Therefore, the answer is 76.249", "76.25", "numeric")
    1.0
    >>> check("Therefore, the answer is $0.3$", "$\\\\frac{3}{10} \\\\# \\\\# 0.3$", "fill_blank")
    1.0
    """
    answer = extract_final_answer(response)
    if qtype == "free_form":
        boxed = last_boxed(reference)
        if boxed is None:
            return None  # a worked solution as reference: needs the LLM judge
        return check_math(answer, boxed)
    if not answer:
        return 0.0
    if qtype in ("single_choice", "multi_choice"):
        return check_choice(answer, reference, multi=qtype == "multi_choice")
    if qtype == "numeric":
        return check_numeric(answer, reference)
    return check_math(answer, reference)


def check_all(responses: Sequence[str], references: Sequence[str], qtypes: Sequence[str]) -> list[float | None]:
    return [check(r, a, q) for r, a, q in zip(responses, references, qtypes, strict=True)]
