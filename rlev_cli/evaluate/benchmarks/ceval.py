"""C-Eval (hkust-nlp/ceval `code/evaluator_series/evaluators/chatgpt.py`; `evaluator.py` normalize_answer).

52 subject configs on the hub; local rows mixed in one file carry `_config` (the subject) and `_split`
(`dev` rows are the few-shot exemplars). A row with an empty answer (the test split before 2025-07) is
counted as unlabeled, never scored."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks.base import Benchmark, Extraction, Hub, Item, Source, Variant, first_shots

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


def _block(row: dict[str, Any]) -> str:
    return str(row["question"]) + "".join(f"\n{k}. {row[k]}" for k in "ABCD") + "\n答案："


def ceval_item(
    row: dict[str, Any],
    subject: str,
    split: str,
    variant: str = "official-answer-only-0shot",
    shots: list[dict[str, Any]] | None = None,
) -> Item | None:
    """chatgpt.py: a system message, the dev rows as user/assistant turns when few-shot (the
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
        messages += [{"role": "user", "content": _block(shot)}, {"role": "assistant", "content": reply}]
    messages.append({"role": "user", "content": _block(row)})
    first_user = next(m for m in messages if m["role"] == "user")
    first_user["content"] = f"{instruction}\n\n" + first_user["content"]
    return Item(
        "ceval",
        f"{subject}/{split}/{row['id']}",
        messages,
        answer,
        subject,
        options=[str(row[k]) for k in "ABCD"],
        prompt_format=BENCHMARK.prompt_format(variant),
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


def extract_ceval(response: str, options: Sequence[str] = ()) -> Extraction:
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


def extract_ceval_few_shot(response: str, options: Sequence[str] = ()) -> Extraction:
    """chatgpt.py few-shot answer-only: the whole (normalized) response must be the letter.

    >>> extract_ceval_few_shot(" b. "), extract_ceval_few_shot("B，因为")
    (('B', 'exact_match'), (None, 'miss'))
    """
    letter = _ceval_letter(response)
    return (letter, "exact_match") if letter else (None, "miss")


_CEVAL_COT = [re.compile(p) for p in (r"答案是(.+?)。", r"答案为(.+?)。", r"选项(.+?)是正确的。")]


def extract_ceval_cot(response: str, options: Sequence[str] = ()) -> Extraction:
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


def load(source: Source, variant: str, seed: int, split: str) -> tuple[list[Item], int]:
    """The rows of `split` (val by default) of every subject, few-shot ones with their subject's dev rows."""
    few_shot = variant != "official-answer-only-0shot"
    rows = source.local
    if rows is None:
        rows = []
        for subject in CEVAL_SUBJECTS:
            rows.extend({**r, "_config": subject, "_split": split} for r in source.hub(subject, split))
            if few_shot:
                rows.extend({**r, "_config": subject, "_split": "dev"} for r in source.hub(subject, "dev"))
    if any("_config" not in row for row in rows):
        raise RlevError("ceval rows from --data-dir need '_config' (the subject) and '_split'")
    shots = first_shots([r for r in rows if r.get("_split") == "dev"], "_config") if few_shot else {}
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


BENCHMARK = Benchmark(
    name="ceval",
    hub=Hub("ceval/ceval-exam", None, "val"),
    load=load,
    variants=(
        Variant("official-answer-only-0shot", extract_ceval),
        Variant("official-answer-only-5shot", extract_ceval_few_shot),
        Variant("official-cot-5shot", extract_ceval_cot),
    ),
    order=30,
)
