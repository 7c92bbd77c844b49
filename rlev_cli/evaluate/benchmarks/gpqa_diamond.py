"""GPQA Diamond (openai/simple-evals `gpqa_eval.py`; lm-eval `gpqa/cot_zeroshot`, `filters/extraction.py`).

Options are permuted per item, deterministically from the seed and the record id, independent of load order.
The data is gated: never write its rows anywhere public (tests use a synthetic row)."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rlev_cli.evaluate.benchmarks.base import Benchmark, Extraction, Hub, Item, Source, Variant, user

_ANSWER_LINE = re.compile(r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?")


def _clean(text: Any) -> str:
    return str(text).strip().replace(" [title]", ". ").replace("  ", " ")


def gpqa_permutation(seed: int, record_id: str) -> list[int]:
    """Stable across processes and PYTHONHASHSEED (a str seed is hashed with SHA-512)."""
    return random.Random(f"{seed}:{record_id}").sample(range(4), 4)


def gpqa_item(row: dict[str, Any], seed: int, variant: str = "simple-evals-0shot-cot") -> Item:
    base = [
        _clean(row[k]) for k in ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
    ]
    perm = gpqa_permutation(seed, str(row["Record ID"]))
    options = [base[p] for p in perm]
    gold = "ABCD"[perm.index(0)]
    if variant == "lm-eval-cot-0shot":  # gpqa_diamond_cot_zeroshot (no space after "question:")
        question = str(row["Question"])  # task v2.2 (lm-eval 0.4.12+) preprocesses the choices only
        text = (
            f"What is the correct answer to this question:{question}\nChoices:\n"
            + "".join(f"({k}) {o}\n" for k, o in zip("ABCD", options, strict=True))
            + "Let's think step by step: "
        )
    else:
        question = _clean(row["Question"])
        text = (
            "Answer the following multiple choice question. The last line of your response should be of the "
            "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step "
            f"before answering.\n\n{question}\n\n"
            + "\n".join(f"{k}) {o}" for k, o in zip("ABCD", options, strict=True))
        )
    return Item(
        "gpqa_diamond",
        str(row["Record ID"]),
        user(text),
        gold,
        row.get("High-level domain"),
        options=options,
        perm=perm,
        prompt_format=BENCHMARK.prompt_format(variant),
    )


def extract_gpqa(response: str, options: Sequence[str] = ()) -> Extraction:
    """simple-evals: the first "Answer: X".

    >>> extract_gpqa("Reasoning...\\nAnswer: C")
    ('C', 'answer_line')
    """
    match = _ANSWER_LINE.search(response)
    return (match.group(1), "answer_line") if match else (None, "miss")


_PAREN_LETTER = re.compile(r"\(([A-Z])\)")  # cot_zeroshot's regex_pattern "(\([A-Z]\))": case-sensitive


def _ignore_case_and_punctuation(text: str) -> str:
    """MultiChoiceRegexFilter.filter_ignores: lower case, every Unicode punctuation character (category P*)
    removed; symbols such as "+", "=" or "$" stay."""
    return "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))


def extract_gpqa_lm_eval(response: str, options: Sequence[str] = ()) -> Extraction:
    """lm-eval flexible-extract (`multi_choice_regex`, `group_select: -1`), each step's last hit:
    "(X)" with a capital letter; else the option texts, both sides lower-cased and without punctuation;
    else ":" then a bare letter among the options'.

    >>> extract_gpqa_lm_eval("(A) is tempting, but (b) holds."), extract_gpqa_lm_eval("B")
    (('A', 'flexible'), (None, 'miss'))
    >>> extract_gpqa_lm_eval("It is 4, not 22.", ["3", "4", "22", "5"])
    ('C', 'choice_text')
    """
    hits = _PAREN_LETTER.findall(response)
    if hits:
        return hits[-1], "flexible"
    if not options:
        return None, "miss"
    choice_texts, to_letter, colon_letter = _fallbacks(tuple(options))
    found = choice_texts.findall(_ignore_case_and_punctuation(response))
    text = found[-1].strip() if found else ""
    if text:  # upstream returns a hit it cannot map as it is (never a letter: it is lower case)
        return to_letter.get(text, text), "choice_text"
    found = colon_letter.findall(response)
    return (found[-1], "colon_letter") if found else (None, "miss")


@lru_cache(maxsize=4096)  # one item's options, scored for every model and sample
def _fallbacks(options: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str]]:
    letters = [chr(65 + i) for i in range(len(options))]
    keys = [_ignore_case_and_punctuation(o.strip()) for o in options]
    to_letter = dict(zip(keys, letters, strict=True))  # as upstream's dict: of two equal texts the later wins
    choice_texts = re.compile("|".join(re.escape(k) for k in keys))
    return choice_texts, to_letter, re.compile(r":[\s]*(" + "|".join(letters) + ")")


def load(source: Source, variant: str, seed: int, split: str) -> tuple[list[Item], int]:
    return [gpqa_item(r, seed, variant) for r in source.rows()], 0


BENCHMARK = Benchmark(
    name="gpqa_diamond",
    hub=Hub("Idavidrein/gpqa", "gpqa_diamond", "train"),
    load=load,
    variants=(
        Variant("simple-evals-0shot-cot", extract_gpqa),
        # the task's `until`; v2: the question as the task v2.2 renders it (unprocessed)
        Variant("lm-eval-cot-0shot", extract_gpqa_lm_eval, stop=("</s>",), version=2),
    ),
    order=10,
)
