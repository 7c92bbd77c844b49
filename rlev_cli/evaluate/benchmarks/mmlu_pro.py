"""MMLU-Pro (TIGER-AI-Lab/MMLU-Pro `evaluate_from_local.py`; lm-eval `mmlu_pro` task v3.1).

Both harnesses generate with `stop=["Question:"]` (vLLM `SamplingParams` / lm-eval `until`): a response is
cut there before extraction. The official header is `cot_prompt_lib/initial_prompt.txt` (it ends in three
newlines) plus one more newline, at the top of the one prompt; lm-eval's `description` ends in one, and
`lm_eval --apply_chat_template` sends it as the system turn, the shots and the question as one user turn
(`fewshot_context` + `multiturn_to_singleturn`), which is how the `lm-eval-*` variants are rendered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks.base import (
    LETTERS,
    Benchmark,
    Extraction,
    Hub,
    Item,
    Source,
    Variant,
    first_shots,
    user,
)

_COT_START = "Answer: Let's think step by step."


def _header(category: str, variant: str) -> str:
    header = (
        f"The following are multiple choice questions (with answers) about {category}. Think step by "
        'step and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n'
    )
    # official: initial_prompt.txt's ".\n\n\n" + "\n" (generate_cot_prompt); lm-eval: the description's ".\n"
    return header if variant.startswith("lm-eval") else header + "\n\n\n"


def _block(row: dict[str, Any]) -> tuple[str, list[str]]:
    options = [str(o).strip() for o in row["options"]]  # strip: 524 test rows leak the answer by whitespace
    text = f"Question:\n{row['question']}\nOptions:\n" + "".join(f"{LETTERS[i]}. {o}\n" for i, o in enumerate(options))
    return text, options


def _shot(row: dict[str, Any], variant: str) -> str:
    cot = str(row["cot_content"])
    if variant.startswith("lm-eval"):  # doc_to_text + target_delimiter " " + fewshot_to_target + "\n\n"
        return _block(row)[0] + _COT_START + " " + cot.replace("A: Let's think step by step. ", "") + "\n\n"
    return _block(row)[0] + cot.replace("A: Let's think step by step.", _COT_START) + "\n\n"  # format_cot_example


def mmlu_pro_item(
    row: dict[str, Any], variant: str = "official-cot-0shot", shots: list[dict[str, Any]] | None = None
) -> Item:
    """0-shot: the official header and query. 5-shot: the first five validation rows of the category with
    their chain of thought, joined as the official script or lm-eval joins them."""
    body, options = _block(row)
    examples = "".join(_shot(shot, variant) for shot in shots or [])
    header = _header(str(row["category"]), variant)
    if variant.startswith("lm-eval"):  # lm_eval --apply_chat_template: the description is the system turn
        messages = user(examples + body + _COT_START, system=header)
    else:
        messages = user(header + examples + body + _COT_START)
    return Item(
        "mmlu_pro",
        str(row["question_id"]),
        messages,
        str(row["answer"]).strip(),
        row.get("category"),
        options=options,
        prompt_format=BENCHMARK.prompt_format(variant),
    )


_MMLU_L1 = re.compile(r"answer is \(?([A-J])\)?")
_MMLU_L2 = re.compile(r".*[aA]nswer:\s*([A-J])")
_MMLU_L3 = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)


def extract_mmlu_pro(response: str, options: Sequence[str] = ()) -> Extraction:
    """Official three levels, first hit wins; no random-guess fallback (a miss is wrong).

    >>> extract_mmlu_pro("The answer is (B)."), extract_mmlu_pro("Answer: D")[0]
    (('B', 'L1'), 'D')
    >>> extract_mmlu_pro("I think it is E because")[0]
    'E'
    >>> extract_mmlu_pro("The answer is (A). Wait, the answer is (B).")[0]
    'A'
    """
    for level, pattern in (("L1", _MMLU_L1), ("L2", _MMLU_L2)):
        match = pattern.search(response)
        if match:
            return match.group(1), level
    match = _MMLU_L3.search(response)
    return (match.group(0), "L3") if match else (None, "miss")


def extract_mmlu_pro_lm_eval(response: str, options: Sequence[str] = ()) -> Extraction:
    """lm-eval `custom-extract`: the first "answer is (X)", no fallback.

    >>> extract_mmlu_pro_lm_eval("Answer: D"), extract_mmlu_pro_lm_eval("so the answer is (C).")
    ((None, 'miss'), ('C', 'L1'))
    """
    match = _MMLU_L1.search(response)
    return (match.group(1), "L1") if match else (None, "miss")


def load(source: Source, variant: str, seed: int, split: str) -> tuple[list[Item], int]:
    """Test rows (local rows may mark the few-shot ones `"_split": "validation"`)."""
    rows = source.rows()
    test = [r for r in rows if r.get("_split", "test") == "test"]
    if variant.endswith("0shot"):
        return [mmlu_pro_item(r, variant) for r in test], 0
    validation = [r for r in rows if r.get("_split") == "validation"] if source.local is not None else None
    shots = first_shots(validation if validation is not None else source.hub(None, "validation"), "category")
    missing = sorted({str(r["category"]) for r in test} - set(shots))
    if missing:
        raise RlevError(
            f"mmlu_pro {variant}: no validation rows for {', '.join(missing)}; the few-shot rows are MMLU-Pro's "
            'validation split (in --data-dir: rows of mmlu_pro.jsonl with "_split": "validation")'
        )
    return [mmlu_pro_item(r, variant, shots[str(r["category"])]) for r in test], 0


_STOP = ("Question:",)
BENCHMARK = Benchmark(
    name="mmlu_pro",
    hub=Hub("TIGER-Lab/MMLU-Pro", None, "test"),
    load=load,
    variants=(
        # v2: the official header's four newlines (v1 had two)
        Variant("official-cot-0shot", extract_mmlu_pro, stop=_STOP, version=2),
        Variant("official-cot-5shot", extract_mmlu_pro, stop=_STOP, version=2),
        # v2: the description in the system turn, as lm-eval renders it for a chat model (v1: in the user turn)
        Variant("lm-eval-cot-5shot", extract_mmlu_pro_lm_eval, stop=_STOP, version=2),
        Variant("lm-eval-cot-0shot", extract_mmlu_pro_lm_eval, stop=_STOP, version=2),
    ),
    order=20,
)
