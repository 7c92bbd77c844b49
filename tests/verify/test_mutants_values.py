"""#17 item 4: tests that kill the mutants of the verifier's value readers (`rlev_cli.verify.check`:
`canonical_text`, `simple_value`, `numeric_value`, `numeric_tolerance`, `plain_number`,
`restated_arithmetic`) that the older tests let live (the mutation run in docs/testing.md).

Real keys: JEEBench numeric keys and their 0.01 tolerance, TheoremQA and GSM8K numeric keys, GAOKAO fill-in
keys and GPT-4's 【答案】 answers to them, MATH / Math-Verify boxed keys (tests/verify/external). The module
docstring promises that text, and numbers whose exact value needs no parser, are decided in-process without
the math worker: `in_process` holds it to that, so a reader that stops reading a form fails here even where
math-verify would have given the same verdict a process away."""

from __future__ import annotations

import pytest

from rlev_cli.verify import check
from rlev_cli.verify.check import restated_arithmetic, rule_verdicts


@pytest.fixture
def in_process(monkeypatch):
    """The math worker is not asked: a job sent to it fails the test."""
    import rlev_cli.verify.worker as worker

    def no_worker(*args, **kwargs):
        raise AssertionError("sent to the math worker; expected an in-process verdict")

    monkeypatch.setattr(worker, "math_pool", no_worker)


# ---- numeric keys: the value read exactly, the tolerance of the key ----------------------------------------


@pytest.mark.parametrize(
    "response,reference,expected",
    [
        # TheoremQA 530 (key 3.464 = 2 sqrt 3): written to 0.001, so one unit of 0.001 is the tolerance
        ("Therefore, the answer is $\\sqrt{12}$", "3.464", 1.0),
        ("Therefore, the answer is $-\\sqrt{12}$", "3.464", 0.0),  # the sign of a root counts
        ("Therefore, the answer is $-\\sqrt{12}$", "-3.464", 1.0),
        # TheoremQA 728 (key 0.125): 0.126 is one unit off; 0.127 two; JEEBench's 0.01 would pass 0.13
        ("Therefore, the answer is 0.126", "0.125", 1.0),
        ("Therefore, the answer is 0.127", "0.125", 0.0),
        ("Therefore, the answer is 0.13", "0.125", 0.0),
        ("Therefore, the answer is $\\frac{1}{8}$", "0.125", 1.0),
        # TheoremQA 339 (key 2002.0781): tolerance 0.0001
        ("The answer is 2002.0782", "2002.0781", 1.0),
        ("The answer is 2002.0783", "2002.0781", 0.0),
        ("The answer is 2002.08", "2002.0781", 0.0),
        # JEEBench keys, their own 0.01
        ("Therefore, the answer is $3^2$", "9.00", 1.0),  # a one-digit exponent without braces
        ("Therefore, the answer is $2^{2}$", "4", 1.0),
        ("Therefore, the answer is $2^{3}$", "4", 0.0),
        ("Therefore, the answer is $1.001 \\times 10^{2}$", "100.1", 1.0),
        ("Therefore, the answer is $10^{2}$", "100.1", 0.0),  # 100: the mantissa 1.001 is not dropped
        ("Therefore, the answer is $7.5 \\times 10^{-3}$", "7.5", 0.0),
        ("Therefore, the answer is $\\frac{3}{2}$", "1.5", 1.0),
        ("Therefore, the answer is 3/2", "1.5", 1.0),
        ("Therefore, the answer is $-\\frac{3}{2}$", "1.5", 0.0),
        ("Therefore, the answer is 1/0", "13", 0.0),  # no number: an undefined quotient
        # GSM8K 640 (key 43,500, thousands written with a comma) and two of its model answers
        ("The total cost is 43500 dollars.\nA: 43500", "43,500", 1.0),
        ("Adding the base cost of the truck gives a total of $36000.\nA: 36000", "43,500", 0.0),
        ("The answer is 43,500", "43500", 1.0),
    ],
)
def test_numeric_keys_are_read_exactly_in_process(in_process, response, reference, expected):
    assert check(response, reference, "numeric") == expected


def test_a_power_is_computed_exactly_up_to_40000_digits_and_a_longer_answer_refused(in_process):
    """A base of a thousand digits to the 40th (40,000 digits) is still computed in-process and compared; one
    digit more is not computed here (it would be math-verify's, but a final answer of over 1,000 characters is
    refused before any parser sees it: ungraded, counted against the response)."""
    assert check(f"Therefore, the answer is ${'1' * 1000}^{{40}}$", "13", "numeric") == 0.0
    power = f"${'1' * 1001}^{{40}}$"
    assert rule_verdicts([f"Therefore, the answer is {power}"], ["13"], ["numeric"]) == [
        (None, f"refused: a final answer of {len(power)} characters")
    ]


def test_a_power_of_zero_with_a_negative_exponent_is_no_number():
    """0^{-1} is not computed (a division by zero); math-verify reads it and it answers nothing."""
    assert check("Therefore, the answer is $0^{-1}$", "13", "numeric") == 0.0


# ---- fill-in and boxed keys compared as text: what canonical_text unifies -----------------------------------


@pytest.mark.parametrize(
    "response,reference,qtype",
    [
        # Math-Verify numina cases 29 / 14: the key in \text{}, the answer in $...$; the same word
        ("$Even$", "$\\boxed{\\text{Even}}$", "free_form"),
        ("$odd$", "$\\boxed{\\text{odd}}$", "free_form"),
        ("Therefore, the answer is Even", "$\\boxed{\\text{Even}}$", "free_form"),
        # GAOKAO Math II fill-in 57: the key ends in a full stop, GPT-4's 【答案】 does not
        ("…<eoe>\n【答案】分层抽样<eoa>", "分层抽样.", "fill_blank"),
        # the same key ending in a full-width stop, which reference_forms leaves to canonical_text
        ("…<eoe>\n【答案】分层抽样<eoa>", "分层抽样。", "fill_blank"),
        # GAOKAO Math II fill-in 49: \left( \right) on the key's side only
        ("【答案】$(-\\frac{1}{4},+\\infty)$<eoa>", "$\\left(-\\frac{1}{4},+\\infty\\right)$.", "fill_blank"),
        # Math-Verify test_all 158: \tfrac in the key, \frac and \left( \right) in the answer
        (
            "Final Answer: The final answer is $\\left(\\frac{27}{8}, \\frac{15}{8}\\right)$.",
            "$\\boxed{(\\tfrac{27}{8},\\tfrac{15}{8})}$",
            "free_form",
        ),
        # GAOKAO Math II fill-in 52 with \dfrac: a root in the numerator, so no exact reader takes it
        ("【答案】$\\dfrac{2\\sqrt{3}}{3}$<eoa>", "$\\frac{2 \\sqrt{3}}{3}$", "fill_blank"),
        # GAOKAO fill-in: spaces and braces of one-character exponents are the writer's, not the answer's
        ("Therefore, the answer is $5x-y+2=0$", "$5 x-y+2=0$", "fill_blank"),
        ("【答案】$x^2+y^2=2$<eoa>", "$x^{2}+y^{2}=2$", "fill_blank"),
    ],
)
def test_text_forms_of_one_answer_are_equal_in_process(in_process, response, reference, qtype):
    assert check(response, reference, qtype) == 1.0


@pytest.mark.parametrize(
    "response,reference,qtype",
    [
        ("$Odd$", "$\\boxed{\\text{Even}}$", "free_form"),
        ("【答案】分层抽样法。<eoa>", "分层抽样.", "fill_blank"),  # one more character is another answer
    ],
)
def test_other_text_is_wrong_in_process(in_process, response, reference, qtype):
    assert check(response, reference, qtype) == 0.0


@pytest.mark.parametrize(
    "response,reference,expected",
    [
        ("【答案】$-0.5$<eoa>", "$-\\frac{1}{2}$", 1.0),  # GAOKAO Math I fill-in 48's key, in decimals
        ("【答案】$0.5$<eoa>", "$-\\frac{1}{2}$", 0.0),
        ("【答案】$-\\frac{20}{6}$<eoa>", "$-\\frac{10}{3}$.", 1.0),  # the fixture's key, unreduced
        ("Therefore, the answer is $3.0 \\times 10^{8}$", "$3 \\times 10^{8}$", 1.0),
        ("Therefore, the answer is $3 \\times 10^{9}$", "$3 \\times 10^{8}$", 0.0),
    ],
)
def test_fill_in_values_are_compared_exactly_in_process(in_process, response, reference, expected):
    assert check(response, reference, "fill_blank") == expected


# ---- a restated question is no answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "response,reference",
    [
        ("故答案为 $99+79 .$", "178"),  # GAOKAO's keys put a space before the full stop ('4 .', '-8 .')
        ("Therefore, the answer is $3 \\times 0.5$", "1.5"),
        ("Therefore, the answer is $(90 + 9) + 79$", "178"),  # brackets do not hide the arithmetic
        ("Therefore, the answer is $2X = 99 + 79$", "178"),  # 2X is no number: the chain holds none
        ("Therefore, the answer is $\\boxed{1 + \\frac{1}{2}}$", "1.5"),
    ],
)
def test_the_question_restated_is_wrong_in_process(in_process, response, reference):
    assert check(response, reference, "numeric") == 0.0


@pytest.mark.parametrize(
    "response,reference",
    [
        ("Therefore, the answer is $99 + 79 = 178 = 100 + 78$", "178"),  # 178 is in the chain
        ("Therefore, the answer is $178 = 99 + 79$", "178"),
        ("Therefore, the answer is $1.5 \\approx 3 \\times 0.5$", "1.5"),  # JEEBench's key 1.5 in the chain
    ],
)
def test_a_chain_that_holds_the_number_answers_it(response, reference):
    assert check(response, reference, "numeric") == 1.0


def test_an_answer_still_in_its_box_is_read_inside_it():
    """The docstring's '\\boxed{99+79}': the box's closing brace is not part of the arithmetic."""
    assert restated_arithmetic("\\boxed{12 \\times 3}") is True
    assert restated_arithmetic("\\boxed{ 99 + 79 }") is True
    assert restated_arithmetic("\\boxed{\\boxed{99+79}}") is True
    assert restated_arithmetic("\\boxed{\\frac{3}{4}}") is False  # a fraction is a number
    assert restated_arithmetic("\\boxed{178}") is False
