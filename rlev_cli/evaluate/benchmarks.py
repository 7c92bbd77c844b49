"""The four OOD benchmarks and the in-domain test split: loading, prompts, answer extraction.

Each benchmark follows its official convention (notes in docs/evaluation.md); the variant used is
recorded per row in `prompt_format`. Items are plain dataclasses; extraction is a pure function.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.verify.extract import last_line

OOD = ("gpqa_diamond", "mmlu_pro", "ceval", "supergpqa")
ALL = ("indomain", *OOD)
HUB = {
    "gpqa_diamond": ("Idavidrein/gpqa", "gpqa_diamond", "train"),
    "mmlu_pro": ("TIGER-Lab/MMLU-Pro", None, "test"),
    "ceval": ("ceval/ceval-exam", None, "val"),
    "supergpqa": ("m-a-p/SuperGPQA", None, "train"),
}
LETTERS = "ABCDEFGHIJ"
# Prompt variants per benchmark, the default first; an item records "<benchmark>/<variant>/v1".
VARIANTS: dict[str, tuple[str, ...]] = {
    "mmlu_pro": ("official-cot-0shot", "official-cot-5shot", "lm-eval-cot-5shot"),
    "ceval": ("official-answer-only-0shot", "official-answer-only-5shot", "official-cot-5shot"),
    "supergpqa": ("official-zero-shot", "official-zero-shot-with-subfield"),
    "gpqa_diamond": ("simple-evals-0shot-cot", "lm-eval-cot-0shot"),
}
SHOTS = 5


@dataclass
class Item:
    benchmark: str
    id: str
    messages: list[dict[str, str]]
    gold: str  # letter, or the reference answer in domain
    subject: str | None = None
    value: float | None = None
    qtype: str | None = None
    options: list[str] = field(default_factory=list)
    perm: list[int] | None = None
    prompt_format: str = ""


def user(text: str, system: str | None = None) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


# -- MMLU-Pro (TIGER-AI-Lab/MMLU-Pro evaluate_from_local.py; lm-eval mmlu_pro task v3.1) -------------


def _mmlu_pro_block(row: dict) -> tuple[str, list[str]]:
    options = [str(o).strip() for o in row["options"]]  # strip: 524 test rows leak the answer by whitespace
    text = f"Question:\n{row['question']}\nOptions:\n" + "".join(f"{LETTERS[i]}. {o}\n" for i, o in enumerate(options))
    return text, options


def mmlu_pro_item(row: dict, variant: str = VARIANTS["mmlu_pro"][0], shots: list[dict] | None = None) -> Item:
    """0-shot: the official header and query. 5-shot: the first five validation rows of the category with
    their chain of thought, as the official script (blank line after the header) or lm-eval (none) builds it."""
    header = (
        f"The following are multiple choice questions (with answers) about {row['category']}. Think step by "
        'step and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n'
    )
    body, options = _mmlu_pro_block(row)
    examples = ""
    for shot in shots or []:  # both builders give "Answer: Let's think step by step. <reasoning>"
        reasoning = str(shot["cot_content"]).replace("A: Let's think step by step.", "").strip()
        examples += _mmlu_pro_block(shot)[0] + f"Answer: Let's think step by step. {reasoning}\n\n"
    gap = "" if variant.startswith("lm-eval") else "\n"
    return Item(
        "mmlu_pro",
        str(row["question_id"]),
        user(header + gap + examples + body + "Answer: Let's think step by step."),
        str(row["answer"]).strip(),
        row.get("category"),
        options=options,
        prompt_format=f"mmlu_pro/{variant}/v1",
    )


_MMLU_L1 = re.compile(r"answer is \(?([A-J])\)?")
_MMLU_L2 = re.compile(r".*[aA]nswer:\s*([A-J])")
_MMLU_L3 = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)


def extract_mmlu_pro(response: str) -> tuple[str | None, str]:
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


def extract_mmlu_pro_lm_eval(response: str) -> tuple[str | None, str]:
    """lm-eval `custom-extract`: the first "answer is (X)", no fallback.

    >>> extract_mmlu_pro_lm_eval("Answer: D"), extract_mmlu_pro_lm_eval("so the answer is (C).")
    ((None, 'miss'), ('C', 'L1'))
    """
    match = _MMLU_L1.search(response)
    return (match.group(1), "L1") if match else (None, "miss")


# -- C-Eval (hkust-nlp/ceval, chatgpt.py answer-only zero-shot) --------------------------------------

CEVAL_SUBJECTS = {
    "computer_network": "计算机网络",
    "operating_system": "操作系统",
    "computer_architecture": "计算机组成",
    "college_programming": "大学编程",
    "college_physics": "大学物理",
    "college_chemistry": "大学化学",
    "advanced_mathematics": "高等数学",
    "probability_and_statistics": "概率统计",
    "discrete_mathematics": "离散数学",
    "electrical_engineer": "注册电气工程师",
    "metrology_engineer": "注册计量师",
    "high_school_mathematics": "高中数学",
    "high_school_physics": "高中物理",
    "high_school_chemistry": "高中化学",
    "high_school_biology": "高中生物",
    "middle_school_mathematics": "初中数学",
    "middle_school_biology": "初中生物",
    "middle_school_physics": "初中物理",
    "middle_school_chemistry": "初中化学",
    "veterinary_medicine": "兽医学",
    "college_economics": "大学经济学",
    "business_administration": "工商管理",
    "marxism": "马克思主义基本原理",
    "mao_zedong_thought": "毛泽东思想和中国特色社会主义理论体系概论",
    "education_science": "教育学",
    "teacher_qualification": "教师资格",
    "high_school_politics": "高中政治",
    "high_school_geography": "高中地理",
    "middle_school_politics": "初中政治",
    "middle_school_geography": "初中地理",
    "modern_chinese_history": "近代史纲要",
    "ideological_and_moral_cultivation": "思想道德修养与法律基础",
    "logic": "逻辑学",
    "law": "法学",
    "chinese_language_and_literature": "中国语言文学",
    "art_studies": "艺术学",
    "professional_tour_guide": "导游资格",
    "legal_professional": "法律职业资格",
    "high_school_chinese": "高中语文",
    "high_school_history": "高中历史",
    "middle_school_history": "初中历史",
    "civil_servant": "公务员",
    "sports_science": "体育学",
    "plant_protection": "植物保护",
    "basic_medicine": "基础医学",
    "clinical_medicine": "临床医学",
    "urban_and_rural_planner": "注册城乡规划师",
    "accountant": "注册会计师",
    "fire_engineer": "注册消防工程师",
    "environmental_impact_assessment_engineer": "环境影响评价工程师",
    "tax_accountant": "税务师",
    "physician": "医师资格",
}


def _ceval_block(row: dict) -> str:
    return str(row["question"]) + "".join(f"\n{k}. {row[k]}" for k in "ABCD") + "\n答案："


def ceval_item(
    row: dict, subject: str, split: str, variant: str = VARIANTS["ceval"][0], shots: list[dict] | None = None
) -> Item | None:
    """hkust-nlp/ceval chatgpt.py: a system message, the dev rows as user/assistant turns when few-shot (the
    answer letter, or "让我们一步一步思考，…所以答案是X。" for CoT), the instruction before the first question."""
    answer = str(row.get("answer") or "").strip()
    if answer not in ("A", "B", "C", "D"):
        return None  # unlabeled (test split before 2025-07, or an empty answer): counted, never scored
    instruction = f"以下是中国关于{CEVAL_SUBJECTS.get(subject, subject)}考试的单项选择题，请选出其中的正确答案。"
    messages = [{"role": "system", "content": f"你是一个中文人工智能助手，{instruction}"}]
    for shot in shots or []:
        reply = str(shot["answer"]).strip()
        if variant == "official-cot-5shot":
            reply = f"让我们一步一步思考，\n{shot['explanation']}\n所以答案是{reply}。"
        messages += [{"role": "user", "content": _ceval_block(shot)}, {"role": "assistant", "content": reply}]
    messages.append({"role": "user", "content": _ceval_block(row)})
    first_user = next(m for m in messages if m["role"] == "user")
    first_user["content"] = f"{instruction}\n\n" + first_user["content"]
    return Item(
        "ceval",
        f"{subject}/{split}/{row['id']}",
        messages,
        answer,
        subject,
        options=[str(row[k]) for k in "ABCD"],
        prompt_format=f"ceval/{variant}/v1",
    )


_CEVAL_PATTERNS = [
    re.compile(p)
    for p in (
        r"^选([A-D])",
        r"^选项([A-D])",
        r"答案是\s?选?项?\s?([A-D])",
        r"答案为\s?选?项?\s?([A-D])",
        r"答案应为\s?选?项?\s?([A-D])",
        r"答案选\s?选?项?\s?([A-D])",
        r"答案是:\s?选?项?\s?([A-D])",
        r"答案应该是:\s?选?项?\s?([A-D])",
        r"正确的一项是\s?([A-D])",
        r"答案为:\s?选?项?\s?([A-D])",
        r"答案应为:\s?选?项?\s?([A-D])",
        r"答案:\s?选?项?\s?([A-D])",
        r"答案是：\s?选?项?\s?([A-D])",
        r"答案应该是：\s?选?项?\s?([A-D])",
        r"答案为：\s?选?项?\s?([A-D])",
        r"答案应为：\s?选?项?\s?([A-D])",
        r"答案：\s?选?项?\s?([A-D])",
    )
]


def extract_ceval(response: str) -> tuple[str | None, str]:
    """chatgpt.py: the first character if it is a letter, else the first pattern with a hit, its last hit.

    >>> extract_ceval("B"), extract_ceval("答案是 C。")[0], extract_ceval("我认为答案：D")[0]
    (('B', 'first_char'), 'C', 'D')
    """
    text = response.strip()
    if text[:1] in ("A", "B", "C", "D"):
        return text[0], "first_char"
    for index, pattern in enumerate(_CEVAL_PATTERNS):
        hits = pattern.findall(text)
        if hits:
            return hits[-1], f"pattern{index}"
    return None, "miss"


def _ceval_normalized(text: str) -> str:
    """evaluator.py normalize_answer: lower case, ASCII punctuation removed, whitespace collapsed."""
    return " ".join("".join(ch for ch in text.lower() if ch not in string.punctuation).split())


def _ceval_letter(text: str) -> str | None:
    normalized = _ceval_normalized(text)
    return normalized.upper() if normalized in ("a", "b", "c", "d") else None


def extract_ceval_few_shot(response: str) -> tuple[str | None, str]:
    """chatgpt.py few-shot answer-only: the whole (normalized) response must be the letter.

    >>> extract_ceval_few_shot(" b. "), extract_ceval_few_shot("B，因为")
    (('B', 'exact_match'), (None, 'miss'))
    """
    letter = _ceval_letter(response)
    return (letter, "exact_match") if letter else (None, "miss")


_CEVAL_COT = [re.compile(p) for p in (r"答案是(.+?)。", r"答案为(.+?)。", r"选项(.+?)是正确的。")]


def extract_ceval_cot(response: str) -> tuple[str | None, str]:
    """chatgpt.py CoT: the last hit of the first pattern that has one, which must be the letter.

    >>> extract_ceval_cot("……所以答案是C。"), extract_ceval_cot("答案为 d 。")
    (('C', 'cot0'), ('D', 'cot1'))
    """
    for index, pattern in enumerate(_CEVAL_COT):
        hits = pattern.findall(response)
        if hits:
            letter = _ceval_letter(hits[-1])
            return (letter, f"cot{index}") if letter else (None, "miss")
    return None, "miss"


# -- SuperGPQA (SuperGPQA/SuperGPQA zero-shot.yaml, eval.py extract_option_labels) ------------------

_SG_TAIL = (  # the official pattern's shared tail, verbatim
    r"(?:[\*\$\{(\[\\(]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text){)?)*\s*([ABCDEFGHIJ])"
    r"(?:\\?\}?\$?\)?\]?\}?)*(?:[\s:\.\*)]|$)"
)
_SG_PATTERNS = [
    re.compile(r"[Tt]he\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is?:?\s*" + _SG_TAIL, re.IGNORECASE),
    re.compile(r"(?i:Answer)[\*\s]*:\s*" + _SG_TAIL, re.IGNORECASE),
    re.compile(r"^[^\w\r\n]*" + _SG_TAIL, re.IGNORECASE),
]


def supergpqa_item(row: dict, variant: str = VARIANTS["supergpqa"][0]) -> Item:
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
        prompt_format=f"supergpqa/{variant}/v1",
    )


def extract_supergpqa(response: str, options: list[str] | None = None) -> tuple[str | None, str]:
    """Patterns on the last line, then on the whole text; then the option texts. Quirks kept as upstream.

    >>> extract_supergpqa("Answer: $\\\\boxed{D}$")[0], extract_supergpqa("The correct answer is (C).")[0]
    ('D', 'C')
    >>> extract_supergpqa("I pick option J")[0]
    'I'
    """
    for scope, text in (("last_line", last_line(response)), ("text", response)):
        for index, pattern in enumerate(_SG_PATTERNS):
            match = pattern.search(text)
            if match:
                return match.group(1), f"{scope}:{index}"
    if options:
        alternation = "|".join(re.escape(o) for o in options if o)
        for pattern in (rf"[Tt]he\s+(?:answer|option)\s+is:?\s*({alternation})", rf"Answer:\s*({alternation})"):
            match = re.search(pattern, response)
            if match:
                return LETTERS[options.index(match.group(1))], "option_text"
    return None, "miss"


# -- GPQA Diamond (openai/simple-evals gpqa_eval.py prompt; per-item deterministic permutation) ---

_GPQA_ANSWER = re.compile(r"(?i)Answer[ \t]*:[ \t]*\$?([A-D])\$?")


def _gpqa_clean(text: str) -> str:
    return str(text).strip().replace(" [title]", ". ").replace("  ", " ")


def gpqa_permutation(seed: int, record_id: str) -> list[int]:
    """Stable across processes and PYTHONHASHSEED (a str seed is hashed with SHA-512)."""
    return random.Random(f"{seed}:{record_id}").sample(range(4), 4)


def gpqa_item(row: dict, seed: int, variant: str = VARIANTS["gpqa_diamond"][0]) -> Item:
    base = [
        _gpqa_clean(row[k])
        for k in ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
    ]
    perm = gpqa_permutation(seed, str(row["Record ID"]))
    options = [base[p] for p in perm]
    gold = "ABCD"[perm.index(0)]
    question = _gpqa_clean(row["Question"])
    if variant == "lm-eval-cot-0shot":  # gpqa_diamond_cot_zeroshot (no space after "question:")
        text = (
            f"What is the correct answer to this question:{question}\nChoices:\n"
            + "".join(f"({k}) {o}\n" for k, o in zip("ABCD", options, strict=True))
            + "Let's think step by step: "
        )
    else:
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
        prompt_format=f"gpqa_diamond/{variant}/v1",
    )


def extract_gpqa(response: str) -> tuple[str | None, str]:
    """simple-evals: the first "Answer: X".

    >>> extract_gpqa("Reasoning...\\nAnswer: C")
    ('C', 'answer_line')
    """
    match = _GPQA_ANSWER.search(response)
    return (match.group(1), "answer_line") if match else (None, "miss")


_GPQA_PAREN = re.compile(r"\(([A-Z])\)", re.IGNORECASE)


def extract_gpqa_lm_eval(response: str) -> tuple[str | None, str]:
    """lm-eval flexible-extract: the last "(X)" in the response, any case.

    >>> extract_gpqa_lm_eval("(A) is tempting, but (b) holds."), extract_gpqa_lm_eval("B")
    (('B', 'flexible'), (None, 'miss'))
    """
    hits = _GPQA_PAREN.findall(response)
    return (hits[-1].upper(), "flexible") if hits else (None, "miss")


_EXTRACTORS: dict[str, Callable[[str], tuple[str | None, str]]] = {
    "mmlu_pro/official-cot-0shot": extract_mmlu_pro,
    "mmlu_pro/official-cot-5shot": extract_mmlu_pro,
    "mmlu_pro/lm-eval-cot-5shot": extract_mmlu_pro_lm_eval,
    "ceval/official-answer-only-0shot": extract_ceval,
    "ceval/official-answer-only-5shot": extract_ceval_few_shot,
    "ceval/official-cot-5shot": extract_ceval_cot,
    "gpqa_diamond/simple-evals-0shot-cot": extract_gpqa,
    "gpqa_diamond/lm-eval-cot-0shot": extract_gpqa_lm_eval,
}


def extract_answer(item: Item, response: str) -> tuple[str | None, str]:
    """The letter the response gives under the item's prompt variant, and which rule found it."""
    if item.benchmark == "supergpqa":
        return extract_supergpqa(response, item.options)
    return _EXTRACTORS[item.prompt_format.rsplit("/", 1)[0]](response)


# -- loading -------------------------------------------------------------------------------------------


def read_rows(path: Path, what: str) -> list[dict[str, Any]]:
    """The records of a `.parquet`, `.csv` or JSONL file (UTF-8 with or without BOM); one clear error otherwise."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        if path.suffix == ".csv":
            import csv

            with path.open(encoding="utf-8-sig", newline="") as handle:
                return list(csv.DictReader(handle))
        return [json.loads(line) for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except (json.JSONDecodeError, OSError, ValueError) as err:  # ValueError covers pyarrow's ArrowInvalid
        raise RlevError(f"{path}: cannot read {what} ({err})") from err


def read_local(data_dir: Path, benchmark: str) -> list[dict[str, Any]] | None:
    """`<benchmark>.jsonl|.parquet|.csv` in the hub schema, or None when absent."""
    for suffix in (".jsonl", ".parquet", ".csv"):
        path = Path(data_dir) / f"{benchmark}{suffix}"
        if path.exists():
            return read_rows(path, "benchmark rows")
    return None


def load_hub(benchmark: str, config: str | None = None, split: str | None = None) -> list[dict]:
    hub_id, default_config, default_split = HUB[benchmark]
    try:
        from datasets import load_dataset

        return list(load_dataset(hub_id, config or default_config, split=split or default_split))
    except Exception as err:  # offline, gated (GPQA) or missing: one line that says what to do
        raise RlevError(
            f"{benchmark}: cannot load {hub_id} from the Hugging Face Hub ({type(err).__name__}); "
            f"pass --data-dir DIR with {benchmark}.jsonl in the hub schema"
        ) from err


def load_items(
    benchmark: str, data_dir: Path | None, seed: int, ceval_split: str = "val", variant: str | None = None
) -> tuple[list[Item], int]:
    """Items of one OOD benchmark and how many rows were unlabeled (skipped, never scored).

    Local rows may carry `_split`: C-Eval `dev`/`val`/`test`, MMLU-Pro `validation` (the few-shot rows)."""
    variant = variant or VARIANTS[benchmark][0]
    rows = read_local(data_dir, benchmark) if data_dir else None
    if benchmark == "ceval":
        return _ceval_items(rows, ceval_split, variant)
    local = rows is not None
    if rows is None:
        rows = load_hub(benchmark)
    try:
        if benchmark == "mmlu_pro":
            return _mmlu_pro_items(rows, variant, local), 0
        if benchmark == "supergpqa":
            return [supergpqa_item(r, variant) for r in rows], 0
        if benchmark == "gpqa_diamond":
            return [gpqa_item(r, seed, variant) for r in rows], 0
    except KeyError as err:
        raise RlevError(f"{benchmark}: rows lack the hub column {err}; keep the hub schema") from err
    raise RlevError(f"unknown benchmark {benchmark!r}")


def _first_shots(rows: list[dict], key: str) -> dict[str, list[dict]]:
    """The first SHOTS rows of each group, in file order (the official `first_n` sampler)."""
    shots: dict[str, list[dict]] = {}
    for row in rows:
        group = shots.setdefault(str(row[key]), [])
        if len(group) < SHOTS:
            group.append(row)
    return shots


def _mmlu_pro_items(rows: list[dict], variant: str, local: bool) -> list[Item]:
    test = [r for r in rows if r.get("_split", "test") == "test"]
    if variant == "official-cot-0shot":
        return [mmlu_pro_item(r) for r in test]
    if local:
        validation = [r for r in rows if r.get("_split") == "validation"]
    else:
        validation = load_hub("mmlu_pro", None, "validation")
    shots = _first_shots(validation, "category")
    missing = sorted({str(r["category"]) for r in test} - set(shots))
    if missing:
        raise RlevError(
            f"mmlu_pro {variant}: no validation rows for {', '.join(missing)}; the few-shot rows are MMLU-Pro's "
            'validation split (in --data-dir: rows of mmlu_pro.jsonl with "_split": "validation")'
        )
    return [mmlu_pro_item(r, variant, shots[str(r["category"])]) for r in test]


def _ceval_items(rows: list[dict] | None, split: str, variant: str) -> tuple[list[Item], int]:
    few_shot = variant != "official-answer-only-0shot"
    if rows is None:
        rows = []
        for subject in CEVAL_SUBJECTS:
            rows.extend({**r, "_config": subject, "_split": split} for r in load_hub("ceval", subject, split))
            if few_shot:
                rows.extend({**r, "_config": subject, "_split": "dev"} for r in load_hub("ceval", subject, "dev"))
    if any("_config" not in row for row in rows):
        raise RlevError("ceval rows from --data-dir need '_config' (the subject) and '_split'")
    shots = _first_shots([r for r in rows if r.get("_split") == "dev"], "_config") if few_shot else {}
    items, unlabeled = [], 0
    for row in rows:
        if row.get("_split", split) != split:
            continue  # dev rows are few-shot exemplars, not test items
        subject = row["_config"]
        if few_shot and subject not in shots:
            raise RlevError(f"ceval {variant}: no dev rows (the few-shot exemplars) for subject {subject!r}")
        item = ceval_item(row, subject, split, variant, shots.get(subject))
        if item is None:
            unlabeled += 1
        else:
            items.append(item)
    return items, unlabeled
