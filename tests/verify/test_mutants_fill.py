"""#17 item 4: tests that kill the mutants of `rlev_cli.verify.check` the older tests let live in `_fill`,
`_unwrap`, `_math_job`, `_remember`, `_full_run` and `check` (the mutation run in docs/testing.md): the exact
verdict AND reason of fill-in answers, TheoremQA's True / False, a list of boxed solutions, numeric references
inside their math delimiters, the exact in-process value against math-verify's rounding, the verdict cache's
bounds, and `check`'s time bound."""

from __future__ import annotations

import importlib

import pytest

from rlev_cli.verify import rule_verdicts
from rlev_cli.verify.check import check

check_module = importlib.import_module("rlev_cli.verify.check")  # the package's `check` is the function

# GAOKAO Math_I fill-in references (the fixture's own: 2010 idx 1, 2021 idx 70-72, 2022 idx 76)
SOLIDS = "三棱雉、圆雉、三棱柱"
LINE = "$5 x-y+2=0$"
MINUS_TEN_THIRDS = "$-\\frac{10}{3}$."
EIGHT = "8"
THREE_TENTHS = "$\\frac{3}{10} \\# \\# 0.3$"


def verdict(response: str, reference: str, qtype: str = "fill_blank") -> tuple[bool | None, str]:
    return rule_verdicts([response], [reference], [qtype], timeout_s=5.0)[0]


@pytest.mark.parametrize(
    "response,reference,expected",
    [
        ("", LINE, (False, "")),  # a generation cut before it wrote anything
        ("Therefore, the answer is 8", "", (None, "unparsable reference: empty")),
        ("【答案】三棱雉、圆雉、三棱柱", SOLIDS, (True, "")),  # a text reference, compared as text
        ("【答案】三棱雉、圆雉", SOLIDS, (False, "")),  # one solid missing: text, never sent to math-verify
        ("所以答案是 根号2", "$\\sqrt{2}$", (True, "")),  # '根号2' is \sqrt{2}
        ("故答案为：根号3/2", "$\\frac{\\sqrt{3}}{2}$", (True, "")),  # and math-verify reads it so
        ("Therefore, the answer is $5+3$", EIGHT, (False, "")),  # the question restated, not answered
        ("Therefore, the answer is $\\frac{6}{20}$", THREE_TENTHS, (True, "")),  # exact value, in-process
        # exact: math-verify rounds to 6 decimals and would accept both; the exam's answer is 3/10, -10/3
        ("Therefore, the answer is 0.3000001", THREE_TENTHS, (False, "")),
        ("Therefore, the answer is $-3.333333$", MINUS_TEN_THIRDS, (False, "")),
        ("Therefore, the answer is not $5x-y+2=0$", LINE, (None, "ambiguous: a negation in the final answer")),
        ("【答案】1、2", "$\\{1,2\\}$", (True, "")),  # the enumeration comma '、' is a comma for math-verify
    ],
)
def test_fill_in_verdicts_and_their_exact_reasons(response, reference, expected):
    assert verdict(response, reference) == expected


@pytest.mark.parametrize(
    "response,reference,expected",
    [  # TheoremQA's answers as Mistral-7B writes them (tests/verify/external, theoremqa/Mistral-7B-v0.1)
        ("Since the determinant is non-zero, the transformation is invertible.\nThe answer is Yes.\n\n", "True", True),
        (
            "W satisfies all three properties of a subspace, making it a subspace of R^2.\nThe answer is Yes.\n\n",
            "False",
            False,
        ),
        ("so the vectors are linearly dependent.\nThe answer is False.\n\n", "False", True),
        ("The probability of taking the edge from node O to node P is 0.1.", "True", False),  # no truth word
        ("The answer is $\\text{No}$.", "False", True),  # \text{} around the word (was read as no answer)
        ("The answer is $\\text{No}$.", "True", False),
        ("The answer is $Yes$.", "$True$", True),  # the reference in math delimiters
    ],
)
def test_true_false_references_read_the_answers_truth_word(response, reference, expected):
    assert verdict(response, reference) == (expected, "")


@pytest.mark.parametrize(
    "response,wrong,reference",
    [  # math-verify's cases (tests/verify/external: test_open_thoughts/13 and 19, test_all/183): a list of solutions
        (
            "$$\\boxed{(98, 2)} \\quad \\text{and} \\quad \\boxed{(99, 503)}$$",
            "$$\\boxed{(98, 2)} \\quad \\text{and} \\quad \\boxed{(99, 502)}$$",
            "$\\boxed{(98, 2), (99, 503)}$",
        ),
        ("\\boxed{1},\\boxed{2},\\boxed{3}", "\\boxed{1},\\boxed{3},\\boxed{3}", "$\\boxed{{1,2,3}}$"),
        (
            "are: \\[ \\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}. \\]",
            "are: \\[ \\boxed{2} \\quad \\text{and} \\quad \\boxed{1}. \\]",
            "$\\boxed{-2,1}$",
        ),
    ],
)
def test_a_run_of_boxes_is_one_list_of_solutions(response, wrong, reference):
    assert verdict(response, reference, "free_form") == (True, "")
    assert verdict(wrong, reference, "free_form") == (False, "")


@pytest.mark.parametrize(
    "gold", ["$76.25$", "$$76.25$$", "\\(76.25\\)", "\\[76.25\\]", "\\boxed{76.25}", "\\boxed{$76.25$}"]
)
def test_a_numeric_reference_in_math_delimiters_keeps_its_tolerance(gold):
    """JEEBench's 76.25 written inside delimiters is still a number: 76.26 is within 0.01 (math-verify alone,
    which the reference would go to if it were not read as a number, says 76.26 is not 76.25)."""
    assert verdict("Therefore, the answer is 76.26", gold, "numeric") == (True, "")
    assert verdict("Therefore, the answer is 76.27", gold, "numeric") == (False, "")


def test_a_dollar_amount_reference_is_its_number():
    assert verdict("The total cost is 18.91", "\\$18.90", "numeric") == (True, "")  # within 0.01


def test_a_multiple_choice_answer_may_name_its_options_with_their_contents():
    """'(A) 12 and (B) 15' chooses A and B; only a run of four or more labels (A, B, C, D…) is a copied list."""
    assert verdict("Therefore, the answer is (A) 12 and (B) 15", "AB", "multi_choice") == (True, "")


def test_the_verdict_cache_keeps_responses_up_to_20000_characters_and_is_bounded():
    answer = "\nTherefore, the answer is 76.25"
    kept = "x" * (check_module._CACHED_CHARS - len(answer)) + answer
    not_kept = "x" + kept
    assert rule_verdicts([kept, not_kept], ["76.25", "76.25"], ["numeric", "numeric"]) == [(True, ""), (True, "")]
    assert dict(check_module._CACHE) == {(kept, "76.25", "numeric", 1.0): (True, "")}
    # a full cache is emptied before the next verdict goes in: it never holds more than _CACHE_SIZE
    check_module._CACHE.update({(str(i), "1", "numeric", 1.0): (True, "") for i in range(check_module._CACHE_SIZE - 1)})
    assert check("Therefore, the answer is 13", "13", "numeric") == 1.0
    assert len(check_module._CACHE) == 1


def test_check_bounds_each_math_job_by_one_second_unless_told(monkeypatch):
    from rlev_cli.verify import worker

    asked: list[float] = []

    class Pool:
        def run(self, jobs: list[list[object]], timeout_s: float) -> list[tuple[None, str]]:
            asked.append(timeout_s)
            return [(None, f"timeout after {timeout_s:g} s")] * len(jobs)

    monkeypatch.setattr(worker, "math_pool", Pool)
    response = "Therefore, the answer is $y=5x+2$"  # an equation: math-verify's
    assert check(response, LINE, "fill_blank") is None
    assert check(response, LINE, "fill_blank", timeout_s=3.0) is None
    assert asked == [1.0, 3.0]
    with pytest.raises(ValueError, match="timeout_s must be positive, got 0"):
        check(response, LINE, "fill_blank", timeout_s=0)
