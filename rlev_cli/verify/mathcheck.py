"""The mathematical comparison, done by math-verify (runs inside the verifier's worker process).

math-verify parses the reference and the answer (LaTeX or plain expressions) and decides equivalence of
numbers, expressions, intervals, sets, tuples and equations. math-verify decides; the only rules added here are
JEEBench's numeric tolerance and one measured overrule: a list of numbers is not an interval (math-verify
reads '1,2' as the set {1, 2} and accepts it for the interval (1,2)).
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any, cast

Verdict = tuple[bool | None, str]

_FORMS_CACHE: dict[str, list[Any]] = {}
_PARSED: dict[str, list[Any]] = {}  # the current job's answer, parsed (math_equal clears it)
PHASE = ["response"]  # what the worker is parsing when its timer fires: "reference" or "response"
_DIGIT_GROUPS = re.compile(r"(?<=\d)(?:\{,\}|,\\!|\\,|\{\\,\})(?=\d{3}(?!\d))")


def join_digit_groups(text: str) -> str:
    """'10{,}000' / '900,\\!000,\\!000' / '1\\,000' -> '10000' / '900000000' / '1000': LaTeX's thousands
    separators (a plain ',' stays: '1,2' is two blanks)."""
    return _DIGIT_GROUPS.sub("", text) if "," in text or "\\," in text else text


_ROMAN_LETTER = re.compile(r"\\mathrm\s*\{\s*(?:~\s*)?([A-Za-z])\s*\}")


def _as_latex(text: str) -> str:
    # '\mathrm{~N}' (an upright N after a tie, GAOKAO's typesetting) is the symbol N to a reader; the
    # LaTeX parser gives up on the tie
    text = _ROMAN_LETTER.sub(r"\1", text).replace("~", " ").replace("\\$", "").strip()
    if "$" in text or "\\(" in text or "\\[" in text:
        return text
    return f"${text}$"


def _configs() -> list[Any]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    return [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]


def parse_math(text: str) -> list[Any]:
    """math-verify's parse without its signal timeout (the caller bounds the time)."""
    from math_verify import parse

    return cast(list[Any], parse(_as_latex(text), extraction_config=_configs(), parsing_timeout=None))


def _gold(form: str) -> list[Any]:
    if form not in _FORMS_CACHE:
        if len(_FORMS_CACHE) > 4096:
            _FORMS_CACHE.clear()
        PHASE[0] = "reference"  # the worker's timer says so when it fires here (then it stays set)
        try:
            _FORMS_CACHE[form] = parse_math(form)
        except Exception:  # math-verify's parser raising on a reference: nothing parsed
            _FORMS_CACHE[form] = []
        PHASE[0] = "response"
    return _FORMS_CACHE[form]


def _is_relation(expr: Any) -> bool:
    from sympy.core.relational import Relational
    from sympy.logic.boolalg import And

    return isinstance(expr, (Relational, And))


def top_level_items(text: str) -> list[str]:
    """'1, (2,3)' -> ['1', '(2,3)']: a list split at commas outside brackets and braces."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0 and text[i - 1 : i] != "\\":
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items]


def _blanks(form: str) -> list[str] | None:
    """Several blanks written as a bare list ('1,2', '$-1, 3$'), else None (a bracketed tuple, set or
    interval is one answer and stays whole; '900,\\!000' is one number)."""
    inner = join_digit_groups(form.strip().strip("$").strip())
    items = top_level_items(inner)
    return items if len(items) > 1 and all(items) else None


def _one_equal(answer: str, form: str) -> bool | None:
    """None when the reference does not parse."""
    from math_verify import verify
    from sympy import Interval

    gold = _gold(form)
    if not gold or isinstance(gold[0], str):  # math-verify hands back the raw string when nothing parses
        return None
    pred = _PARSED.get(answer)
    if pred is None:  # the same final answer against several accepted forms is parsed once
        pred = _PARSED[answer] = parse_math(answer)
    if not pred or isinstance(pred[0], str):
        return False
    # math-verify reads '1,2' as a set equal to the interval (1,2); a grader does not accept a list of
    # numbers for an interval (measured: tests/verify/labelled.jsonl, "fill: interval")
    if isinstance(gold[0], Interval) and not isinstance(pred[0], Interval) and not _is_relation(pred[0]):
        return False
    return bool(verify(gold, pred, timeout_seconds=None, strict=True))


def math_equal(answer: str, forms: list[str], ordered: bool = True) -> Verdict:
    """The answer against the accepted forms of a reference (any one matching is enough); with `ordered`,
    several blanks ('1,2') are compared blank by blank, in order."""
    _PARSED.clear()
    parsed_any = False
    for form in forms:
        blanks = _blanks(form) if ordered else None
        if blanks is not None:
            said = top_level_items(join_digit_groups(answer.strip().strip("$").strip()))
            results = [_one_equal(a, f"${g}$") for a, g in zip(said, blanks, strict=False)]
            if any(r is None for r in results):
                continue
            parsed_any = True
            if len(said) == len(blanks) and all(results):
                return True, ""
            continue
        result = _one_equal(answer, form)
        if result is None:
            continue
        parsed_any = True
        if result:
            return True, ""
    if not parsed_any:
        return None, f"unparsable reference: {' ## '.join(forms)[:80]!r}"
    return False, ""


def numeric_close(answer: str, gold: str, tolerance: str) -> Verdict:
    """A numeric answer within `tolerance` of the gold (JEEBench: |gold - answer| <= 0.01)."""
    from sympy import Abs, Float, Number, Symbol

    pred = parse_math(_after_last_equals(answer))
    if not pred:
        return False, ""
    expr = pred[0]
    if _is_relation(expr):
        if not (hasattr(expr, "lhs") and isinstance(expr.lhs, Symbol)):
            return False, ""
        expr = expr.rhs
    if not hasattr(expr, "free_symbols") or expr.free_symbols:
        return False, ""
    try:
        value = expr.evalf(30)
    except (TypeError, ValueError, ArithmeticError):
        return False, ""
    if not isinstance(value, Number) or not value.is_real:
        return False, ""
    diff = Abs(value - Float(Decimal(gold), 30))
    return bool(diff <= Float(Decimal(tolerance), 30) * (1 + Float("1e-12"))), ""


_EQUALS = re.compile(r"=|≈|\\approx|\\simeq")


def _after_last_equals(answer: str) -> str:
    """'x = 1/2 * 15 = 7.5' -> '7.5': the result of a chain is what follows its last '=' (or '≈')."""
    parts = _EQUALS.split(answer.replace("$", ""))
    last = parts[-1].strip()
    # only when the chain ends the answer: in '15/4, since 1/2 * 15 = 7.5 was wrong' 7.5 is not the result
    if len(parts) > 1 and last and not re.search(r"[A-Za-z]{2,}|[\u3400-\u9fff]", re.sub(r"\\[A-Za-z]+", "", last)):
        return last
    return answer


def run_job(job: list[Any]) -> Verdict:
    """One comparison job from the parent: ["math", answer, forms, ordered] or ["numeric", answer, gold, tol]."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    if job[0] == "math":
        return math_equal(job[1], job[2], bool(job[3]) if len(job) > 3 else True)
    return numeric_close(job[1], job[2], job[3])
