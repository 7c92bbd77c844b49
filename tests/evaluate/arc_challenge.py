"""ARC-Challenge, the worked example of docs/evaluation.md "Adding a benchmark": this whole file, copied into
rlev_cli/evaluate/benchmarks/, is all a fifth benchmark needs (tests/evaluate/test_registry.py proves it).

Hub schema (allenai/ai2_arc, config ARC-Challenge): id, question, choices {text, label}, answerKey. Labels are
letters in most rows and "1".."4" in a few, so the gold letter is found by the key's position."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rlev_cli.evaluate.benchmarks.base import LETTERS, Benchmark, Extraction, Hub, Item, Source, Variant, user

_ANSWER = re.compile(r"Answer[ \t]*:[ \t]*\(?([A-E])\)?")


def arc_item(row: dict[str, Any], variant: str) -> Item:
    options = [str(text) for text in row["choices"]["text"]]
    gold = LETTERS[list(row["choices"]["label"]).index(row["answerKey"])]
    text = (
        "Answer the following multiple choice question. The last line of your response should be of the "
        f"following format: 'Answer: $LETTER'.\n\n{row['question']}\n\n"
        + "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(options))
    )
    return Item(
        "arc_challenge",
        str(row["id"]),
        user(text),
        gold,
        options=options,
        prompt_format=BENCHMARK.prompt_format(variant),
    )


def extract_arc(response: str, options: Sequence[str] = ()) -> Extraction:
    """The last "Answer: X" in the response.

    >>> extract_arc("Answer: B ... no. Answer: (C)")
    ('C', 'answer_line')
    """
    hits = _ANSWER.findall(response)
    return (hits[-1], "answer_line") if hits else (None, "miss")


def load(source: Source, variant: str, seed: int, split: str) -> tuple[list[Item], int]:
    return [arc_item(row, variant) for row in source.rows()], 0


BENCHMARK = Benchmark(
    name="arc_challenge",
    hub=Hub("allenai/ai2_arc", "ARC-Challenge", "test"),
    load=load,
    variants=(Variant("answer-line-0shot", extract_arc),),
)
