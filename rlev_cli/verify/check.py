"""Checking a response against its reference, by question type (docs/verifier.md has the table).

Rule code decides only what math-verify does not cover: option letters and short text. Everything
mathematical (numbers written any way, expressions, intervals, sets, tuples, equations) is math-verify's,
run in a worker process under a time bound (rlev_cli/verify/worker.py). Option letters, text, and numbers
whose exact value needs no parser (plain, `\\frac{a}{b}`, `a \\times 10^{k}`, `a^{k}`; a square root for the
numeric tolerance) are decided in-process, exactly, without IPC. Nothing is normalised away: a
sign, an exponent, a bracket or a separator always counts. A verdict is True / False, or None (ungraded)
with the reason: an unparsable reference, a free-form reference (the LLM judge's job), a refused or
timed-out check. `ungraded_cause` says whose fault a reason is: the reference's (left out) or the
response's (counted wrong by `rlev_cli.verify.grade`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import Any

from rlev_cli.verify.extract import (
    answer_region,
    final_boxes,
    listed_options,
    numbered_letters,
    stacked_answers,
    sub_answers,
)
from rlev_cli.verify.mathcheck import join_digit_groups

Verdict = tuple[bool | None, str]

QTYPES = ("single_choice", "multi_choice", "numeric", "fill_blank", "free_form")
NUMERIC_ABS_TOL = Decimal("0.01")  # JEEBench's own scorer accepts |gold - response| <= 0.01
MAX_MATH_CHARS = 1000  # a longer "final answer" is not an answer; it is refused before sympy sees it
MAX_EXPONENT = 10_000
MAX_RESPONSE_CHARS = 200_000  # ~50k tokens: a longer response is a repetition loop, refused (counted wrong)
MAX_BOXES = 100  # more \boxed{} than this in one response is not a final answer

_CACHE: dict[tuple[str, str, str, float], Verdict] = {}  # whole responses
_JOB_CACHE: dict[str, Verdict] = {}  # math jobs: (final answer, reference forms) -> graded verdict
_CACHE_SIZE = 1 << 16
_CACHED_CHARS = 20_000

# ---- option letters --------------------------------------------------------------------------------

_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_LETTER_RUN = re.compile(r"(?<![A-Za-z0-9])([A-J]+)(?![A-Za-z])")
# words that may follow an option letter; any other lowercase word after "I" / "A" makes it the pronoun
# or the article ("I think", "A careful check"), not an option
_LETTER_FOLLOWERS = {"and", "or", "nor", "is", "are", "only", "alone", "both", "together", "with", "as"}
_KEY_SINGLE = re.compile(r"^[A-J]$")
_KEY_MULTI = re.compile(r"^[A-J]{2,10}$")
_KEY_SLOTS = re.compile(r"^[A-J]+(?:,[A-J]+)+$")


def option_letters(text: str) -> list[str]:
    """Option letters in an answer, in order: '(B)' -> B; 'A, C and D' / 'ACD' / 'A、C' -> A, C, D.

    >>> option_letters("I think it is (B)")
    ['B']
    >>> option_letters("故选：AC")
    ['A', 'C']
    """
    # `$`, `{` and `}` stay: they bound a letter as a space does, and a letter in math ("$A$ because") is
    # never the article
    text = _LATEX_COMMAND.sub(" ", unicodedata.normalize("NFKC", text))
    letters: list[str] = []
    for match in _LETTER_RUN.finditer(text):
        run = match.group(1)
        if run in ("I", "A"):
            after = text[match.end() :]
            word = re.match(r"\s+([a-z]+)", after)
            if after[:1] in ("'", "’") or (word and word.group(1) not in _LETTER_FOLLOWERS):
                continue
        letters.extend(run)
    return letters


def _choice(response: str, key: str) -> Verdict:
    key = unicodedata.normalize("NFKC", key).strip().upper().replace(" ", "")
    if _KEY_SLOTS.match(key):  # several slots sharing one stem (GAOKAO "D,C,B"): every slot, in order
        wanted = key.split(",")
        if any(len(w) != 1 for w in wanted):
            return None, f"unparsable reference: slots {key!r} must be one letter each"
        found = option_letters(answer_region(response))
        if len(found) != len(wanted):  # one answer per sub-question: "（1）【答案】C … （2）【答案】A"
            parts = [option_letters(a) for a in sub_answers(response)]
            if len(parts) == len(wanted) and all(len(set(p)) == 1 for p in parts):
                found = [p[0] for p in parts]
        if len(found) < len(wanted):
            found = option_letters(answer_region(response, whole_tail=True))
        if len(found) < len(wanted):  # "41. B\n42. C": numbered lines without any marker
            found = numbered_letters(response) or found
        return found == wanted and not listed_options(response), ""
    if not (_KEY_SINGLE.match(key) or _KEY_MULTI.match(key)):
        return None, f"unparsable reference: {key!r} is not a set of option letters"
    found = option_letters(answer_region(response))
    if len(key) == 1:  # exactly one letter named, the key's (repeating it is fine: "B. (B) is correct")
        if set(found) != {key}:
            return False, ""
        # answer statements back to back whose first and last differ ("The answer is (B).\n\nThe answer is
        # (G)."): a hedge over the options, not an answer (the lines between may repeat few-shot exemplars)
        stacked = stacked_answers(response)
        if len(stacked) >= 2 and option_letters(stacked[0]) != option_letters(stacked[-1]):
            return False, ""
    elif not (found and sorted(found) == sorted(set(key)) and len(set(found)) == len(found)):
        return False, ""
    # an answer naming several options with their contents ("【答案】A. ①② B. ①③ C. ②④ D. ③④", the options
    # copied) chooses none, though its first letter may be the key; a multiple-choice answer may name
    # exactly the key's options with their contents ("(A) 12 and (C) 15"): a copy only when it runs A, B, C, D…
    listed = listed_options(response)
    if set(listed) == set(key) and not _full_run(listed):  # listed names two or more: never a 1-letter key
        return True, ""
    return not listed, ""


def _full_run(letters: list[str]) -> bool:
    """'A', 'B', 'C', 'D'(, …): every label of a four-or-more-option question, in order: a copied list."""
    return len(letters) >= 4 and letters == [chr(65 + i) for i in range(len(letters))]


# ---- numbers ----------------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_MINUS = str.maketrans({"−": "-", "–": "-", "－": "-", "＋": "+"})  # Unicode minus signs are minus signs


def _unwrap(answer: str) -> str:
    """'$-7.5$' / '\\(7.5\\)' / '\\boxed{7.5}' -> the bare text (only wrappers go; nothing inside)."""
    text = unicodedata.normalize("NFKC", answer).translate(_MINUS).replace("\\$", "").strip()
    while True:  # '$$…$$' is '$…$' twice; a lone '$' unwraps to '' (no number either way)
        for opener, closer in (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("\\boxed{", "}")):
            if text.startswith(opener) and text.endswith(closer):
                text = text[len(opener) : len(text) - len(closer)].strip()
                break
        else:
            return text


def plain_number(text: str) -> Decimal | None:
    """A number written plainly ('-7.5', '1.5e-3', '1,000', '10{,}000', '\\$18.90', '76.25'), else None."""
    text = join_digit_groups(_unwrap(text))
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN_NUMBER.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
_SIMPLE_VALUE = re.compile(
    rf"^(?P<sign>[-+]?)\s*(?:"
    rf"\\[dt]?frac\s*\{{\s*(?P<fnum>{_NUM})\s*\}}\s*\{{\s*(?P<fden>{_NUM})\s*\}}"
    rf"|(?P<num>{_NUM})\s*/\s*(?P<den>{_NUM})"
    rf"|(?:(?P<mant>{_NUM})\s*(?:\\times|\\cdot|×|·)\s*)?(?P<base>{_NUM})\s*\^\s*"
    rf"(?:\{{\s*(?P<exp1>[-+]?\d{{1,3}})\s*\}}|(?P<exp2>\d))"
    rf")$"
)


def simple_value(text: str) -> Fraction | None:
    """The exact value of a number written as a plain fraction or in powers of ten ('-\\frac{15}{2}',
    '3/10', '7.5 \\times 10^{-3}'), else None (anything else is math-verify's). Exact: nothing is dropped.

    >>> simple_value("-\\\\frac{15}{2}"), simple_value("7.5 \\\\times 10^{-3}"), simple_value("\\\\frac{1}{2}^{2}")
    (Fraction(-15, 2), Fraction(3, 400), None)
    """
    text = _unwrap(text)
    plain = plain_number(text)
    if plain is not None:
        return Fraction(plain)
    match = _SIMPLE_VALUE.match(text)
    if not match:
        return None
    sign = -1 if match["sign"] == "-" else 1
    if match["fnum"] is not None or match["num"] is not None:
        den = Fraction(Decimal(match["fden"] or match["den"]))
        if den == 0:
            return None
        return sign * Fraction(Decimal(match["fnum"] or match["num"])) / den
    base, exponent = Fraction(Decimal(match["base"])), int(match["exp1"] or match["exp2"])
    if len(match["base"]) * abs(exponent) > 4 * MAX_EXPONENT:  # too long to compute here: math-verify's
        return None
    mantissa = Fraction(Decimal(match["mant"])) if match["mant"] else Fraction(1)
    try:
        return sign * mantissa * base**exponent  # -4^{2} is -16: the sign applies after the power
    except ZeroDivisionError:  # 0^{-1}
        return None


_SQUARE_ROOT = re.compile(rf"^(?P<sign>[-+]?)\s*\\sqrt\s*\{{\s*(?P<radicand>{_NUM})\s*\}}$")


def numeric_value(text: str) -> Fraction | Decimal | None:
    """`simple_value`, or a square root of a number to 40 digits (for a tolerance comparison only)."""
    exact = simple_value(text)
    if exact is not None:
        return exact
    match = _SQUARE_ROOT.match(_unwrap(text))
    if not match:
        return None
    with localcontext() as context:
        context.prec = 40
        root = Decimal(match["radicand"]).sqrt()
    return -root if match["sign"] == "-" else root


def numeric_tolerance(gold: Decimal) -> Decimal:
    """0.01 (JEEBench), tightened to one unit of the gold's last digit when it is written finer."""
    exponent = gold.as_tuple().exponent
    unit = Decimal(1).scaleb(exponent) if isinstance(exponent, int) else NUMERIC_ABS_TOL
    return min(NUMERIC_ABS_TOL, unit)


# ---- a restated question is no answer ----------------------------------------------------------------

# Measured case (a reward hack, benchmarks/real_model_learning.py): SmolLM2 trained on arithmetic papers learnt
# to end "Compute 99 + 79." with "… 99 + 79" / "\boxed{99+79}", which math-verify evaluates to 178 and grades
# correct. An unevaluated expression of two or more numbers joined by + − × ÷ * / (no variable, no power, no
# root) is not a final answer to a single-number reference: wrong (cause: response). A fraction `3/4`,
# `\frac{3}{4}`, `-\frac{10}{3}`, scientific notation `3 \times 10^{8}` / `3e8`, `2\sqrt{2}`, `\pi/2` are numbers
# (`simple_value` reads them, or they hold a root or a constant) and stay answers; so does the result of a
# chain, `99 + 79 = 178`. Labelled cases: tests/verify/labelled.jsonl, family "restated expression".
_TERM = rf"(?:{_NUM}|\\[dt]?frac\s*\{{\s*{_NUM}\s*\}}\s*\{{\s*{_NUM}\s*\}})"
_ARITHMETIC_OP = r"(?:[-+*/×÷·]|\\times|\\div|\\cdot|\\ast)"
_RESTATED = re.compile(rf"(?:^|(?<=[\s:：(]))[-+]?\s*{_TERM}(?:\s*{_ARITHMETIC_OP}\s*[-+]?\s*{_TERM})+$")
_DELIMITERS = re.compile(r"\$|\\[()\[\]]|\\boxed\s*\{|\\text\{[^{}]*\}\}?")


def restated_arithmetic(answer: str) -> bool:
    """An answer ending in unevaluated arithmetic of numbers ('99 + 79', '\\boxed{99+79}', '12 \\times 3'),
    with no single number anywhere in its chain of '='; '3/4', '99 + 79 = 178', '3 \\times 10^{8}' are answers.

    >>> restated_arithmetic("The answer is $99 + 79$."), restated_arithmetic("99 + 79 = 178")
    (True, False)
    """
    text = join_digit_groups(unicodedata.normalize("NFKC", answer).translate(_MINUS))
    parts = [_DELIMITERS.sub(" ", p).strip().rstrip(".。").strip() for p in re.split(r"=|≈|\\approx", text)]
    last = parts[-1]
    while last.endswith("}") and last.count("}") > last.count("{"):  # the closing brace of \boxed{
        last = last[:-1].rstrip()
    restated = _RESTATED.search(re.sub(r"[()]", " ", last))  # '(90 + 9) + 79' is arithmetic too
    if restated is None or simple_value(restated.group()) is not None:  # '3/4', '-\frac{10}{3}': a number
        return False
    return all(simple_value(trailing_number(p)) is None for p in parts[:-1])  # '178 = 99 + 79' answers 178


# ---- text and math ----------------------------------------------------------------------------------

_SEPARATORS = str.maketrans({"、": ",", "，": ",", "；": ";", "：": ":", "（": "(", "）": ")"})
_TEXT_WRAPPER = re.compile(r"\\(?:text|mathrm|textbf|mathbf|operatorname)\s*\{([^{}]*)\}")
_CJK = re.compile(r"[\u3400-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{4,}")
_MATH_WORDS = {"sqrt", "frac", "dfrac", "tfrac", "infty", "left", "right", "cdot", "times", "text", "mathrm"}
_ALTERNATIVES = re.compile(r"\\#\s*\\#")
_POWER_TOWER = re.compile(r"\^\s*\{[^{}]*\^|\^\s*\(?[\w.]+\)?\s*\^|\*\*[^*]*\*\*")
_EXPONENT = re.compile(r"(?:\^|\*\*)\s*\{?\s*\(?\s*[+-]?\s*(\d+)")
_FACTORIAL = re.compile(r"(\d{4,})\s*!")


def canonical_text(text: str) -> str:
    """Text compared as a grader reads it: NFKC, case, spaces, `$`, `\\text{}` and full-width separators
    unified; separators, brackets and signs all kept ('1,2' stays unlike '12', '(1,2]' unlike '[1,2]')."""
    text = unicodedata.normalize("NFKC", text).translate(_MINUS).translate(_SEPARATORS).replace("\\$", "")
    text = _TEXT_WRAPPER.sub(r"\1", text).replace("\\left", "").replace("\\right", "")
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("$", "")
    text = re.sub(r"\s+|\\[,;:! ]|~", "", text).casefold()
    text = re.sub(r"([_^])\{(\w)\}", r"\1\2", text)  # x^{2} is x^2, N_{1} is N_1
    return text.rstrip(".。")


def _is_text_reference(form: str) -> bool:
    """Words or CJK (三棱锥、圆锥; Paris): compared as text, never fed to the math parser. A number with its
    unit in `\\text{}` ('12\\text{ square units}') is math: math-verify drops the unit."""
    if _CJK.search(form):
        return True
    bare = _TEXT_WRAPPER.sub(" ", form)
    if re.search(r"\d", bare):
        form = bare
    words = [w for w in _WORD.findall(form) if w.lower() not in _MATH_WORDS]
    return "$" not in form and bool(words)


_TRUTH = {"true": True, "false": False, "yes": True, "no": False}
_TRUTH_WORD = re.compile(r"(true|false|yes|no)\b", re.IGNORECASE)
_NOTE = re.compile(r"\s*[(（][^()（）]*[\u3400-\u9fff][^()（）]*[)）]\s*$")
_ROOT_WORD = re.compile(r"根号\s*(\d+(?:\.\d+)?|\{[^{}]*\})")  # '根号3' is \sqrt{3}


def reference_forms(reference: str) -> list[str]:
    """The accepted forms of a fill-in reference; GAOKAO's `\\#\\#` separates equivalent ones."""
    # a sentence period ('$-\frac{10}{3}$.', '0.216.', '分层抽样.', '2 (… 皆可).') is not part of the answer
    text = reference.strip().removesuffix(".").rstrip()
    text = _NOTE.sub("", text)  # '2 (满足 $1<e \\leq \\sqrt{5}$ 皆可)': the grader's note is not the answer
    if text.startswith("$") and text.endswith("$") and _ALTERNATIVES.search(text):
        text = text.strip("$")
        return [f"${f.strip()}$" for f in _ALTERNATIVES.split(text) if f.strip()]
    return [f.strip() for f in _ALTERNATIVES.split(text) if f.strip()]


def refusal(answer: str) -> str | None:
    """Why an answer is refused before sympy sees it (too long, or `explosive`)."""
    if len(answer) > MAX_MATH_CHARS:
        return f"refused: a final answer of {len(answer)} characters"
    return explosive(answer)


def explosive(answer: str) -> str | None:
    """Why no comparison with this expression ends in time: a power tower, a huge exponent or factorial."""
    if _POWER_TOWER.search(answer):
        return "refused: a power tower"
    if any(int(e) > MAX_EXPONENT for e in _EXPONENT.findall(answer)):
        return f"refused: an exponent above {MAX_EXPONENT}"
    if _FACTORIAL.search(answer):
        return "refused: a factorial of a number above 999"
    return None


def response_refusal(response: str) -> str | None:
    """Why a whole response is refused before any extraction (a repetition loop, a flood of boxes)."""
    if len(response) > MAX_RESPONSE_CHARS:
        return f"refused: a response of {len(response):,} characters (at most {MAX_RESPONSE_CHARS:,})"
    boxes = response.count("\\boxed") + response.count("\\fbox")
    if boxes > MAX_BOXES:
        return f"refused: {boxes:,} \\boxed{{}} in the response (at most {MAX_BOXES})"
    return None


# ---- why an answer is ungraded ----------------------------------------------------------------------

# ungraded because of the REFERENCE (the item's fault): left out of training signal and of Acc/H-Acc
REFERENCE_REASONS = ("unparsable reference", "free-form reference", "unknown qtype", "timeout parsing the reference")
# ungraded because of the RESPONSE (what the policy wrote): counted as wrong, and counted apart
RESPONSE_REASONS = ("refused:", "timeout after", "ambiguous:", "math check failed")


def ungraded_cause(reason: str) -> str:
    """'reference', 'response' or 'grader' (the checker or the judge could not run: left out) for the
    reason of an ungraded verdict (docs/verifier.md, "Ungraded is not an escape").

    >>> ungraded_cause("refused: a power tower"), ungraded_cause("free-form reference: needs the judge")
    ('response', 'reference')
    """
    if reason.startswith(REFERENCE_REASONS):
        return "reference"
    if reason.startswith(RESPONSE_REASONS):
        return "response"
    return "grader"


# ---- dispatch ---------------------------------------------------------------------------------------

Job = list[Any]  # ["math", answer, forms, ordered] or ["numeric", answer, gold, tolerance]


def _rule_or_job(response: str, reference: str, qtype: str) -> Verdict | Job:
    """A verdict decided in-process, or a math job for the worker."""
    why = response_refusal(response)
    if why:
        return None, why
    if qtype in ("single_choice", "multi_choice"):
        return _choice(response, reference)
    gold = plain_number(reference) if qtype == "numeric" else None
    if gold is not None:
        answer = answer_region(response)
        if not answer or restated_arithmetic(answer):
            return False, ""
        got = numeric_value(trailing_number(leading_answer(answer.translate(_MINUS))))
        tolerance = numeric_tolerance(gold)
        if got is not None:  # exact: a root's 40 digits are compared as a fraction too
            return abs(Fraction(got) - Fraction(gold)) <= Fraction(tolerance), ""
        return _math_job(["numeric", answer, str(gold), str(tolerance)], answer)
    if qtype == "free_form":
        boxed = final_boxes(reference)
        if not boxed:  # a worked solution or an essay: the LLM judge's job
            return None, "free-form reference: needs the judge"
        # several boxes in the reference are a list of solutions: one set, compared as math-verify does
        reference = ", ".join(boxed)
    elif qtype not in QTYPES:
        return None, f"unknown qtype {qtype!r} (known: {', '.join(QTYPES)})"
    # only a fill-in's bare list is its blanks in order; a numeric key that is no plain number ('\frac{1}{2}')
    # and a free-form list are math-verify's (unordered)
    return _fill(response, reference, ordered=qtype == "fill_blank")


def _fill(response: str, reference: str, *, ordered: bool) -> Verdict | Job:
    """A fill-in or boxed reference. `ordered`: a bare list ('1,2') is an exam's blanks, compared blank by
    blank in order (GAOKAO fill-in); otherwise math-verify compares it as it does (a set, unordered)."""
    forms = reference_forms(reference)
    if not forms:
        return None, "unparsable reference: empty"
    answer = _ROOT_WORD.sub(r"\\sqrt{\1}", answer_region(response))
    if not answer:
        return False, ""
    truth = _TRUTH.get(canonical_text(reference))
    if truth is not None:  # TheoremQA's True / False: "Yes, …" / "No, they are not …" / "$\\text{No}$" answer it
        said_truth = _TRUTH_WORD.match(_TEXT_WRAPPER.sub(r"\1", answer).strip().lstrip("*$\\("))
        return (said_truth is not None and _TRUTH[said_truth.group(1).casefold()] == truth), ""
    boxes = final_boxes(response)
    if boxes and answer == boxes[-1].strip():  # '\\boxed{2} and \\boxed{3}': a list of solutions
        answer = ", ".join(b.strip() for b in boxes)
    said = canonical_text(answer)
    if any(said == canonical_text(f) for f in forms):
        return True, ""
    math_forms = [f for f in forms if not _is_text_reference(f)]
    if not math_forms:
        return False, ""
    refused = [why for f in math_forms if (why := explosive(f))]
    if len(refused) == len(math_forms):  # '9^{9^{9}}': the item's fault, not every answer's (none compares in time)
        return None, f"unparsable reference: {refused[0]}"
    math_forms = [f for f in math_forms if not explosive(f)]
    said_value = simple_value(leading_answer(answer.translate(_MINUS)))
    gold_values = [simple_value(f) for f in math_forms]
    if all(v is not None for v in gold_values) and restated_arithmetic(answer):
        return False, ""
    if said_value is not None and all(v is not None for v in gold_values):  # exact, no parser needed
        return said_value in gold_values, ""
    return _math_job(["math", answer, math_forms, ordered], answer)


_LEADING = re.compile(
    r"^(\$[^$]+\$|[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"(?=\s*[,，;；]?\s*(?:which|since|because|as|so|that|where|when|from|given|not|i\.e\.|因为|由于|其中|即)\b"
    r"|\s+\((?:[a-zA-Z]|约))"
)


_SENTENCE_THEN_NUMBER = re.compile(r"^[^\d$\\=]*\s([-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$")


_NEGATION = re.compile(r"\b(?:not|no|cannot|never|wrong)\b|n't|不是|不可能|不能|不为|错误")


def trailing_number(answer: str) -> str:
    """'After simplifying, we get 2.5' -> '2.5': words without any number, then one number ending it."""
    match = _SENTENCE_THEN_NUMBER.match(answer.strip())
    if not match or _NEGATION.search(answer):  # "it cannot be 5" does not answer 5
        return answer
    return match.group(1)


def leading_answer(answer: str) -> str:
    """'7.5, which is 15 times $\\frac{1}{2}$' -> '7.5': an answer followed by its explanation is the
    answer; the explanation's numbers are not (math-verify would pick the `$…$` in it)."""
    match = _LEADING.match(answer.strip())
    return match.group(1) if match else answer


def _math_job(job: Job, answer: str) -> Verdict | Job:
    why = refusal(answer)
    if why:
        return None, why
    said = unicodedata.normalize("NFKC", answer).translate(_MINUS).replace("、", ",")
    job[1] = leading_answer(said)
    if _NEGATION.search(job[1]):  # "it cannot be 5": math-verify would read 5
        return None, "ambiguous: a negation in the final answer"
    return job


def rule_verdicts(
    responses: Sequence[str], references: Sequence[str], qtypes: Sequence[str], *, timeout_s: float = 1.0
) -> list[Verdict]:
    """Grade a batch: (True/False, "") or (None, reason) per response; math jobs are bounded by
    `timeout_s` each and go to the worker in one batch.

    >>> rule_verdicts(["Therefore, the answer is (B)."], ["B"], ["single_choice"])
    [(True, '')]
    >>> rule_verdicts(["答案是 $\\\\frac{3}{10}$"], ["$\\\\frac{3}{10} \\\\# \\\\# 0.3$"], ["fill_blank"])
    [(True, '')]
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    outcomes: list[tuple[tuple[str, str, str, float], Verdict | Job]] = []
    for response, reference, qtype in zip(responses, references, qtypes, strict=True):
        key = (response or "", reference or "", qtype, timeout_s)  # a null in a table is an empty string
        outcome: Verdict | Job | None = _CACHE.get(key)
        if outcome is None:
            outcome = _rule_or_job(key[0], key[1], qtype)
            if not isinstance(outcome, list):
                _remember(key, outcome)
        outcomes.append((key, outcome))
    # the same final answer to the same reference is one job (a group of completions often agrees)
    jobs = {repr(o): o for _, o in outcomes if isinstance(o, list) and repr(o) not in _JOB_CACHE}
    fresh: dict[str, Verdict] = {}
    if jobs:
        from rlev_cli.verify.worker import math_pool

        fresh = dict(zip(jobs, math_pool().run(list(jobs.values()), timeout_s), strict=True))
    for job_key, result in fresh.items():
        if result[0] is not None or result[1].startswith("unparsable"):  # a timeout is tried again next time
            if len(_JOB_CACHE) >= _CACHE_SIZE:
                _JOB_CACHE.clear()
            _JOB_CACHE[job_key] = result
    verdicts: list[Verdict] = []
    for key, outcome in outcomes:
        if isinstance(outcome, list):
            job_key = repr(outcome)
            outcome = _JOB_CACHE.get(job_key) or fresh[job_key]
            if job_key in _JOB_CACHE:  # a settled verdict is remembered whole too
                _remember(key, outcome)
        verdicts.append(outcome)
    return verdicts


def _remember(key: tuple[str, str, str, float], verdict: Verdict) -> None:
    if len(key[0]) > _CACHED_CHARS:  # a long response is not kept (65,536 of them would be gigabytes)
        return
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = verdict


def check(response: str, reference: str, qtype: str, *, timeout_s: float = 1.0) -> float | None:
    """Grade one response: 1.0 / 0.0, or None when it cannot be graded by rule (see `rule_verdicts`).

    >>> check("... Therefore, the answer is (B).", "B", "single_choice")
    1.0
    >>> check("Therefore, the answer is A and C", "AC", "multi_choice")
    1.0
    >>> check("Therefore, the answer is 76.249", "76.25", "numeric")
    1.0
    >>> check("故选：AB", "A", "single_choice")
    0.0
    """
    ok, _ = rule_verdicts([response], [reference], [qtype], timeout_s=timeout_s)[0]
    return None if ok is None else float(ok)
