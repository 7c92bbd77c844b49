"""The extractors and prompts against their official code's own edge cases (issue #8 item 8).

Each expected value is what the cited upstream function returns on that input (checked by running it)."""

from __future__ import annotations

import doctest
import json

import pytest

from rlev_cli.evaluate import benchmarks
from rlev_cli.evaluate.benchmarks import (
    Item,
    extract_answer,
    extract_gpqa_lm_eval,
    extract_mmlu_pro,
    extract_supergpqa,
    gpqa_item,
    mmlu_pro_item,
)
from tests.conftest import OOD
from tests.evaluate.test_benchmarks import SYNTHETIC_GPQA

SUPERGPQA_ROWS = [json.loads(line) for line in (OOD / "supergpqa.jsonl").read_text(encoding="utf-8").splitlines()]
MMLU_ROWS = [json.loads(line) for line in (OOD / "mmlu_pro.jsonl").read_text(encoding="utf-8").splitlines()]
DIGITS = ["3", "4", "22", "5"]


@pytest.mark.parametrize(
    "response,options,expected",
    [
        # the regex_pattern "(\([A-Z]\))" is case-sensitive (ignore_case only applies to the choice texts);
        # group_select -1: the last hit
        ("(A) is tempting, but (b) holds.", DIGITS, ("A", "flexible")),
        ("Not (A); the answer is (C).", DIGITS, ("C", "flexible")),
        ("The answer is (E).", DIGITS, ("E", "flexible")),  # [A-Z]: any capital, then scored wrong
        # fallback 1: the choice texts, lower-cased and without Unicode punctuation on both sides, last hit
        ("It is 4, not 22.", DIGITS, ("C", "choice_text")),
        ("2 + 2 = 4.", DIGITS, ("B", "choice_text")),  # "+" and "=" are symbols, not punctuation: "2 + 2" stays
        ("I'd say PARIS!", ["Paris.", "Rome", "Oslo", "Bern"], ("A", "choice_text")),
        ("Option: B, which is 5", DIGITS, ("D", "choice_text")),  # the choice texts come before ": B"
        ("It is 4", ["4", "4.", "3", "5"], ("B", "choice_text")),  # two equal texts: the later letter
        ("it is 5 apples", ["5 .", "3", "4", "6"], ("5", "choice_text")),  # "5 " matched, unmapped: wrong
        ("x marks it", ["...", "x", "y", "z"], (None, "miss")),  # an all-punctuation choice matches "" first
        # fallback 2: ":" then a bare capital among the choices' letters, last hit
        ("My pick: B", DIGITS, ("B", "colon_letter")),
        ("first: A, then: C", DIGITS, ("C", "colon_letter")),
        ("my pick: b", DIGITS, (None, "miss")),
        ("Answer: E", DIGITS, (None, "miss")),  # only A-D with four choices
        ("B", DIGITS, (None, "miss")),
    ],
)
def test_gpqa_lm_eval_flexible_extract(response, options, expected):
    """lm_eval/tasks/gpqa/cot_zeroshot/_gpqa_cot_zeroshot_yaml (flexible-extract) and
    lm_eval/filters/extraction.py MultiChoiceRegexFilter.apply."""
    assert extract_gpqa_lm_eval(response, options) == expected


def test_gpqa_lm_eval_reads_the_items_own_options_and_stops_at_its_until():
    """The fallbacks use the item's permuted options; `until: ["</s>"]` cuts a response that ran past it."""
    item = gpqa_item(SYNTHETIC_GPQA, 1, "lm-eval-cot-0shot")
    assert item.options == ["4", "22", "3", "5"]
    assert extract_answer(item, "2 + 2 makes 4.") == ("A", "choice_text")
    assert extract_answer(item, "So the answer is 4 (A).</s>Then (C)") == ("A", "flexible")
    assert extract_answer(item, "Thinking</s>(C)") == (None, "miss")


O1 = ["40 m/s", "42 m/s", "44 m/s", "46 m/s"]


@pytest.mark.parametrize(
    "response,options,expected",
    [
        ("The answer is 42 m/s", O1, ("B", "option_text:last_line:0")),
        ("The answer is 42 m/s.", O1, ("B", "option_text:last_line:0")),
        ("the option is 44 m/s", O1, ("C", "option_text:last_line:0")),
        ("Answer 42 m/s", O1, ("B", "option_text:last_line:1")),  # the content pattern needs no colon ...
        ("Answer: 42 m/s", O1, (None, "miss")),  # ... and a colon stops it (":" is not in its prefix class)
        ("**42 m/s**", O1, ("B", "option_text:last_line:2")),
        ("The answer is $\\boxed{42 m/s}$", O1, ("B", "option_text:last_line:0")),
        ("Step 1...\nSo the answer is 42 m/s\nDone.", O1, ("B", "option_text:text:0")),
        ("The answer is 42 M/S", O1, (None, "miss")),  # option texts are matched case-sensitively
        ("the answer is paris", ["Paris", "Rome"], (None, "miss")),
        ("The answer is 4 m", ["4", "4 m", "5"], ("A", "option_text:last_line:0")),  # the first option that fits
        ("The answer is: 42", ["", "42"], ("B", "option_text:last_line:0")),  # an empty option is in the alternation
        ("Final: 46 m/s", O1, (None, "miss")),
        # the letter patterns still come first, with their quirks
        ("The answer is a 42 m/s", O1, ("a", "last_line:0")),
        ("Answer: B\n\nI hope this helps.", O1, ("I", "last_line:2")),  # last line = text.rstrip().split("\n")[-1]
    ],
)
def test_supergpqa_option_content_fallback(response, options, expected):
    """SuperGPQA/SuperGPQA eval/eval.py: extract_option_labels, then (zero-shot mode of calculate_accuracy)
    extract_option_content mapped back with chr(options.index(predict) + 65)."""
    assert extract_supergpqa(response, options) == expected


def test_supergpqa_option_content_on_real_fixture_options():
    """Options with regex metacharacters ("(CH3)2...") and multi-line LaTeX blocks ("$$\\n...\\n$$") are
    matched literally (re.escape, as eval.py); the whole-text scope finds a block the last line cannot."""
    alkenes = next(r for r in SUPERGPQA_ROWS if r["uuid"] == "cdaa37042c35453aace8d4cb6e97a3e5")
    assert alkenes["options"][1] == "(CH3)2CHCH2CH2CH=CH2"
    response = "The answer is (CH3)2CHCH2CH2CH=CH2"
    assert extract_supergpqa(response, alkenes["options"]) == ("B", "option_text:last_line:0")
    pressure = next(r for r in SUPERGPQA_ROWS if r["uuid"] == "e48f0f199575410fa5ab4576d76164bf")
    block = pressure["options"][8]
    assert block.startswith("$$\n3. 6 9") and pressure["answer_letter"] == "I"
    assert extract_supergpqa(f"Working.\nThe answer is {block}", pressure["options"]) == ("I", "option_text:text:0")
    assert extract_supergpqa(f"Working.\nThe answer is {block}") == (None, "miss")  # no options, no fallback


@pytest.mark.parametrize(
    "response,expected",
    [
        ("Answer:\n\nC", ("C", "L2")),  # \s* crosses lines
        ("answer: C", ("C", "L2")),
        ("Answer: B or Answer: C\nAnswer: D", ("C", "L2")),  # no DOTALL: the first line with a hit, its last
        ("The answer is c", (None, "miss")),  # capitals only at every level
        ("It is (J), not (A) or B", ("B", "L3")),  # the last standalone capital
    ],
)
def test_mmlu_pro_levels_edge_cases(response, expected):
    """TIGER-AI-Lab/MMLU-Pro evaluate_from_local.py: extract_answer, extract_again, extract_final."""
    assert extract_mmlu_pro(response) == expected


@pytest.mark.parametrize(
    "variant,response,expected",
    [
        ("official-cot-0shot", "I think B.\n\nQuestion:\nNext one. Answer: C", ("B", "L3")),
        ("official-cot-0shot", "Let me see.\nQuestion: which? the answer is (C)", (None, "miss")),
        ("official-cot-0shot", "Hmm.\nquestion: which? Answer: C", ("C", "L2")),  # the stop is case-sensitive
        ("official-cot-5shot", "the answer is (D)\n\nQuestion:\n...the answer is (A)", ("D", "L1")),
        ("lm-eval-cot-5shot", "Question: what next? So the answer is (D).", (None, "miss")),
    ],
)
def test_mmlu_pro_response_stops_at_question(variant, response, expected):
    """evaluate_from_local.py SamplingParams(stop=["Question:"]); lm-eval mmlu_pro _default_template_yaml
    `until: ["Question:"]`: the official run never generates past it, so neither is it scored."""
    item = Item("mmlu_pro", "x", [], "B", prompt_format=f"mmlu_pro/{variant}/v2")
    assert extract_answer(item, response) == expected


def test_mmlu_pro_zero_shot_prompt_spacing():
    """evaluate_from_local.py generate_cot_prompt: initial_prompt.txt (ending "choice.\\n\\n\\n") + "\\n",
    then format_cot_example(curr, including_answer=False)."""
    row = MMLU_ROWS[0]
    (prompt,) = [m["content"] for m in mmlu_pro_item(row).messages]
    options = "".join(f"{'ABCDEFGHIJ'[i]}. {o.strip()}\n" for i, o in enumerate(row["options"]))
    assert prompt == (
        f"The following are multiple choice questions (with answers) about {row['category']}. Think step by step "
        'and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n\n'
        f"Question:\n{row['question']}\nOptions:\n{options}Answer: Let's think step by step."
    )


def test_mmlu_pro_few_shot_chain_of_thought_joined_as_each_harness_does():
    """Official format_cot_example: cot_content with "A: Let's think step by step." replaced by "Answer: ...",
    then "\\n\\n". lm-eval utils.py: doc_to_text + target_delimiter " " + cot_content without
    "A: Let's think step by step. " (with its space): a chain of thought starting on a new line keeps it."""
    shot = {
        "question_id": 9001,
        "question": "SYNTHETIC exemplar",
        "options": ["yes", "no"],
        "answer": "A",
        "cot_content": "A: Let's think step by step.\nStep 1. The answer is (A).",
        "category": "biology",
    }
    official = mmlu_pro_item(MMLU_ROWS[0], "official-cot-5shot", [shot]).messages[0]["content"]
    lm_eval = mmlu_pro_item(MMLU_ROWS[0], "lm-eval-cot-5shot", [shot]).messages[-1]["content"]
    exemplar = "Question:\nSYNTHETIC exemplar\nOptions:\nA. yes\nB. no\n"
    assert (
        f"choice.\n\n\n\n{exemplar}Answer: Let's think step by step.\nStep 1. The answer is (A).\n\nQuestion:\n"
        in official
    )
    assert (
        f"{exemplar}Answer: Let's think step by step. A: Let's think step by step.\nStep 1. The answer is (A)."
        "\n\nQuestion:\n" in lm_eval
    )


def test_every_benchmark_module_doctest_runs_and_passes():
    """The `>>>` examples in the extractors' docstrings are the official sanity vectors: they must hold."""
    from rlev_cli.evaluate.benchmarks import ceval, gpqa_diamond, mmlu_pro, supergpqa

    for module in (ceval, gpqa_diamond, mmlu_pro, supergpqa):
        result = doctest.testmod(module)
        assert result.attempted >= 2 and result.failed == 0, module.__name__
    assert benchmarks.OOD == ("gpqa_diamond", "mmlu_pro", "ceval", "supergpqa")
