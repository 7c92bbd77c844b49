"""#17 item 4: tests that kill the mutants of the option-letter and reference-form rules of
`rlev_cli/verify/check.py` (`_choice`, `option_letters`, `_is_text_reference`, `reference_forms`) that the
older tests let live (docs/testing.md). Each case is a real answer from tests/verify/external's tuned half (its
id named) or one in the style of the labelled set, with the exact verdict and reason a user sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlev_cli.verify import rule_verdicts
from rlev_cli.verify.check import reference_forms

EXTERNAL = Path(__file__).with_name("external")
ROWS = {
    row["id"]: row for row in map(json.loads, (EXTERNAL / "tuned.jsonl").read_text(encoding="utf-8").splitlines())
}  # the tuned half only: the held-out half is never asserted (tests/verify/test_external.py)


def graded(*cases: tuple[str, str, str]) -> list[tuple[bool | None, str]]:
    responses, references, qtypes = zip(*cases, strict=True)
    return rule_verdicts(list(responses), list(references), list(qtypes), timeout_s=5.0)


def real(row_id: str) -> tuple[str, str, str]:
    row = ROWS[row_id]
    return row["response"], row["reference"], row["qtype"]


# ---- several slots sharing one stem (GAOKAO "C,A,C") --------------------------------------------------

SUB_ANSWERS = "gaokao-obj/2010-2022_Chinese_Modern_Lit/22"  # '（1）【答案】 C <eoa>\n（2）【答案】 A <eoa>\n…'


def test_one_tagged_answer_per_sub_question_fills_the_slots_in_order():
    response, reference, qtype = real(SUB_ANSWERS)
    assert reference == "C,A,C" and ROWS[SUB_ANSWERS]["label"] is True
    assert graded(
        (response, reference, qtype),
        (response, "C, A, C", qtype),  # a key typed with spaces is the same key
        (response, "C,C,A", qtype),  # the same letters in another order
        (response, "C,A", qtype),  # a slot too few
    ) == [(True, ""), (True, ""), (False, ""), (False, "")]


def test_the_answer_sentence_names_the_slots_and_what_follows_it_does_not():
    response = "故答案依次为 D、C、B。A 项与文意不符。"  # the first sentence answers; option A is then discussed
    assert graded(
        (response, "D,C,B", "single_choice"),
        (response, "D,B,C", "single_choice"),
    ) == [(True, ""), (False, "")]


def test_slots_listed_one_per_line_after_the_tag_are_read_whole():
    """The tag's first line holds one slot only ("1. B"); the lines after it hold the others."""
    response = "【答案】\n1. B\n2. A\n3. C <eoa>"  # English_Reading_Comp's first key, one slot a line
    assert graded(
        (response, "B,A,C", "single_choice"),
        (response, "B,A,D", "single_choice"),
    ) == [(True, ""), (False, "")]


def test_numbered_lines_answer_only_when_no_statement_names_every_slot():
    assert graded(
        ("41. D\n42. C\n43. B", "D,C,B", "single_choice"),  # labelled set: numbered lines, no marker
        ("41. D\n42. C\n43. B", "D,B,C", "single_choice"),
        # the stated answers are graded, not numbered lines that follow them
        ("Therefore, the answers are B and D.\n41. B\n42. C", "B,C", "single_choice"),
    ) == [(True, ""), (False, ""), (False, "")]


def test_a_copied_option_list_fills_no_slot():
    copied = "【答案】A. ①② B. ①③ C. ②④ D. ③④ <eoa>"  # the options copied: chooses none
    assert graded((copied, "A,B,C,D", "single_choice")) == [(False, "")]


# ---- one letter or a set of letters -----------------------------------------------------------------


def test_a_run_of_stated_answers_counts_only_when_it_starts_and_ends_on_the_key():
    """MMLU-Pro (gemini-1.5-pro, 5-shot) repeating its exemplars' answers: the first and the last statement
    decide, not the first two."""
    agrees = real("mmlu-pro/gemini-1.5-pro-002/3752")  # (C) … (J) … (C): the source labels it right
    hedges = real("mmlu-pro/gemini-1.5-pro-002/7839")  # (B) … (G): a hedge
    assert graded(agrees, hedges) == [(True, ""), (False, "")]


def test_wrong_letters_are_wrong_with_no_reason():
    english = real("gaokao-obj/2010-2013_English_MCQs/40")  # 【答案】: A, key D
    physics = real("gaokao-obj/2010-2022_Physics_MCQs/10")  # 【答案】 AC, key BC
    assert graded(english, physics) == [(False, ""), (False, "")]


def test_the_key_options_named_with_their_contents_are_the_answer():
    """JEEBench-style multiple choice: "(A) 12 m/s and (C) 15 m/s" names exactly the key's options."""
    assert graded(
        ("The answer is (A) 12 m/s and (C) 15 m/s.", "AC", "multi_choice"),
        ("【答案】A．速度增大 C．动能增大 <eoa>", "AC", "multi_choice"),
        ("The answer is (A) 12 m/s and (C) 15 m/s.", "A C", "multi_choice"),  # key typed with a space
        ("The answer is (A) 12 m/s and (C) 15 m/s.", "ACD", "multi_choice"),
        ("【答案】A. ①② B. ①③ C. ②④ D. ③④ <eoa>", "A", "single_choice"),  # the options copied
        ("【答案】B. ①③ D. ③④ <eoa>", "B", "single_choice"),  # two options for one: its first letter is no answer
    ) == [(True, ""), (True, ""), (True, ""), (False, ""), (False, ""), (False, "")]


@pytest.mark.parametrize(
    "response,key",
    [
        ("Therefore, the answer is $\\text{B}$.", "B"),
        ("Therefore, the answer is $B$.", "B"),
        ("所以 $\\mathrm{D}$ 正确，故选 $\\mathrm{D}$", "D"),
        ("Therefore, the answer is $A\\text{ and }D$.", "AD"),
        # a letter in math is never the article: "$A$ because"; the bare "A has" is
        ("Therefore, the answer is $A$ because only A has a positive slope.", "A"),
    ],
)
def test_letters_in_latex_are_options(response, key):
    assert graded((response, key, "single_choice" if len(key) == 1 else "multi_choice")) == [(True, "")]


def test_the_article_and_the_pronoun_are_not_options():
    assert graded(
        ("So (C). A quick check with x = 2 confirms it.", "C", "single_choice"),
        ("I’m fairly confident it is (B).", "B", "single_choice"),  # a typographic apostrophe
        ("I'm fairly confident it is (B).", "B", "single_choice"),
    ) == [(True, ""), (True, ""), (True, "")]


# ---- fill-in references: forms, text or math --------------------------------------------------------


def test_a_sentence_period_is_not_part_of_the_reference():
    """GAOKAO fill-in references end with a period after math, a number or words (Math II 12, 47, 56, 57)."""
    assert reference_forms("$\\frac{9 \\pi}{2}$.") == ["$\\frac{9 \\pi}{2}$"]
    assert reference_forms("$\\frac{9 \\pi}{2}$ .") == ["$\\frac{9 \\pi}{2}$"]
    assert reference_forms("5 .") == ["5"] and reference_forms("0.216.") == ["0.216"]
    assert reference_forms("分层抽样.") == ["分层抽样"]
    assert reference_forms("$-\\frac{3}{4} \\# \\#-0.75$ .") == ["$-\\frac{3}{4}$", "$-0.75$"]
    # Math II fill-in 82: two blanks, the period after the second
    assert reference_forms("(1). $-\\frac{1}{2} ; \\quad$ (2). $\\ln 2$.") == [
        "(1). $-\\frac{1}{2} ; \\quad$ (2). $\\ln 2$"
    ]
    assert reference_forms("$-\\frac{3}{4} \\# \\#-0.75$") == ["$-\\frac{3}{4}$", "$-0.75$"]
    assert reference_forms("\\frac{3}{10} \\# \\# 0.3") == ["\\frac{3}{10}", "0.3"]  # no $: none added
    assert reference_forms("$2$ (答案不唯一)") == ["$2$"]
    assert reference_forms("$60^{\\circ}$ (or $\\frac{\\pi}{3}$)") == ["$60^{\\circ}$ (or $\\frac{\\pi}{3}$)"]


def test_the_graders_note_is_not_the_answer():
    """GAOKAO Math II fill-in 85: '2 (满足 $1<e \\leq \\sqrt{5}$ 皆可)'; gpt-4's '【答案】2' is right."""
    response, reference, qtype = real("gaokao-fill/2010-2022_Math_II_Fill-in-the-Blank/85")
    assert graded(
        (response, reference, qtype),
        (response, reference + ".", qtype),  # the note, then a sentence period
        ("【答案】3<eoa>", reference, qtype),
    ) == [(True, ""), (True, ""), (False, "")]


def test_words_and_cjk_are_compared_as_text_and_never_parsed():
    # GAOKAO Math I fill-in 1 (three solids; the answer names two)
    assert graded(
        ("【答案】三棱锥、三棱柱<eoa>", "三棱雉、圆雉、三棱柱", "fill_blank"),
        ("Therefore, the answer is: the function isn't even.", "$\\boxed{\\text{Even}}$", "free_form"),
        ("$\\boxed{Odd}$", "$\\boxed{\\text{Even}}$", "free_form"),
    ) == [(False, ""), (False, ""), (False, "")]


def test_numbers_with_units_or_bare_function_names_are_math():
    assert graded(
        ("Therefore, the answer is $\\boxed{12}$", "\\boxed{12\\text{ square units}}", "free_form"),
        ("Therefore, the answer is $\\boxed{6ab}$", "\\boxed{6ab\\text{ cm}}", "free_form"),
        ("Therefore, the answer is $2\\sqrt{3}$", "2*sqrt(3)", "fill_blank"),
        ("Therefore, the answer is $\\frac{\\pi}{3}$", "$\\frac{\\pi}{3}$ radians", "fill_blank"),
    ) == [(True, ""), (True, ""), (True, ""), (True, "")]
