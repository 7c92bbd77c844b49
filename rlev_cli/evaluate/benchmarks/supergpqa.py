"""SuperGPQA (SuperGPQA/SuperGPQA `config/prompt/zero-shot*.yaml`, `infer/data_loader.py`, `eval/eval.py`).

Extraction is the official zero-shot path: `extract_option_labels` (three letter patterns, case-insensitive,
on the last line then on the whole text), and when it finds nothing `extract_option_content` (the same three
shapes around the option texts, case-sensitive) mapped back to the option's letter."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks.base import LETTERS, Benchmark, Extraction, Hub, Item, Source, Variant, user

# The official patterns, verbatim (eval.py builds them as non-raw f-strings; these raw strings are the same
# regular expressions). The letter tail and the content tail differ only in the alternation they wrap.
_PREFIX = r"(?:[\*\$\{(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*\s*"
_CONTENT_PREFIX = r"(?:[\*\$\{\(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*\s*"
_SUFFIX = r"(?:\\?\}?\$?\)?\]?\}?)*(?:[\s:\.\*)]|$)"
_LETTER = _PREFIX + r"([ABCDEFGHIJ])" + _SUFFIX
_LABEL_PATTERNS = [
    re.compile(r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is?:?\s*" + _LETTER, re.IGNORECASE),
    re.compile(r"(?i:Answer)[\*\s]*:\s*" + _LETTER, re.IGNORECASE),
    re.compile(r"^[^\w\r\n]*" + _LETTER, re.IGNORECASE),
]
# extract_option_content: "is:?" (not "is?:?"), and "Answer" needs no colon (a colon even stops it)
_CONTENT_LEADS = (r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is:?\s*", r"(?i:Answer)\s*", r"^[^\w\r\n]*")


@lru_cache(maxsize=4096)  # one item's options, scored for every model and sample
def _content_patterns(options: tuple[str, ...]) -> list[re.Pattern[str]]:
    # every option, empty ones included, in order: the alternation's order decides between overlapping texts
    alternation = "|".join(re.escape(o) for o in options)
    return [re.compile(lead + _CONTENT_PREFIX + f"({alternation})" + _SUFFIX) for lead in _CONTENT_LEADS]


def supergpqa_item(row: dict[str, Any], variant: str = "official-zero-shot") -> Item:
    options = [str(o) for o in row["options"]]
    letter = str(row["answer_letter"]).strip()
    if LETTERS.index(letter) >= len(options) or options[LETTERS.index(letter)] != row["answer"]:
        raise RlevError(f"SuperGPQA uuid {row['uuid']}: options[{letter}] != answer; the data is corrupt")
    text = (
        "Answer the following multiple choice question"
        + (f" about {row['subfield']}" if variant.endswith("with-subfield") else "")
        + ". There is only one correct answer. The last line of "
        "your response should be in the format 'Answer: $LETTER' (without quotes), where LETTER is one of A, B, "
        "C, D, E, F, G, H, I, or J.\n\n"
        + row["question"]
        + "\n"
        + "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(options))
    )
    return Item(
        "supergpqa",
        str(row["uuid"]),
        user(text),
        letter,
        row.get("field"),
        options=options,
        prompt_format=BENCHMARK.prompt_format(variant),
    )


def _scopes(response: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """eval.py: `text = text.rstrip(); last_line = text.split('\\n')[-1]`, then the whole text."""
    text = response.rstrip()
    return ("last_line", text.split("\n")[-1]), ("text", text)


def extract_supergpqa(response: str, options: Sequence[str] = ()) -> Extraction:
    """The letter patterns on the last line, then on the whole text; then the option texts. Quirks kept as
    upstream (a lower-case letter is returned as is and so scored wrong; a leading "I" reads as option I).

    >>> extract_supergpqa("Answer: $\\\\boxed{D}$")[0], extract_supergpqa("The correct answer is (C).")[0]
    ('D', 'C')
    >>> extract_supergpqa("I pick option J")[0]
    'I'
    >>> extract_supergpqa("The answer is 42 m/s", ["40 m/s", "42 m/s"])
    ('B', 'option_text:last_line:0')
    """
    scopes = _scopes(response)
    for scope, text in scopes:
        for index, pattern in enumerate(_LABEL_PATTERNS):
            match = pattern.search(text)
            if match:
                return match.group(1), f"{scope}:{index}"
    if not options:
        return None, "miss"
    for scope, text in scopes:
        for index, pattern in enumerate(_content_patterns(tuple(options))):
            match = pattern.search(text)
            if match:  # the first hit decides, even an empty option (then a miss, as upstream's `if predict`)
                if not match.group(1):
                    return None, "miss"
                return LETTERS[list(options).index(match.group(1))], f"option_text:{scope}:{index}"
    return None, "miss"


def load(source: Source, variant: str, seed: int, split: str) -> tuple[list[Item], int]:
    return [supergpqa_item(r, variant) for r in source.rows()], 0


BENCHMARK = Benchmark(
    name="supergpqa",
    hub=Hub("m-a-p/SuperGPQA", None, "train"),
    load=load,
    variants=(
        Variant("official-zero-shot", extract_supergpqa),
        Variant("official-zero-shot-with-subfield", extract_supergpqa),
    ),
    order=40,
)
