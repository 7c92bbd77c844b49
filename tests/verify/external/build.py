"""Build the external labelled set: responses that real models wrote, with labels from their sources.

The sources (repository, commit, path, licence, how each labels its responses) are listed in SOURCES.md
beside this file. They are read straight from git mirrors of the repositories, at the commits named in
SOURCES, so this script needs those mirrors: `git clone` each repository and set RLEV_MIRROR to the folder
holding them as `owner+name/repo` (the layout of this project's mirror tool), or pass --mirror. Nothing
else is downloaded. Output, one case per line (UTF-8 JSONL, sorted by id):

    tuned.jsonl     the half the verifier is tuned on
    heldout.jsonl   the half measured once, at the end (written only with --heldout)

Each case: id, item (the source item: every response to one item lands in the same half), source, model,
lang, qtype (rlev's questions-table type), question (abridged), options, reference (the `answer` column as
`rlev ingest` writes it), response (verbatim, never cut), source_label (the source's verdict), label (the
final verdict: the source's unless decisions.tsv overrules it), decision_reason, families (tags used to
report per failure family), half.

Hand decisions: decisions.tsv (id <TAB> label true|false|null <TAB> reason), one line for every case where
the source's label and a verifier's verdict differed and the response was read by hand. A decision that
keeps the source's label is recorded too (its reason says why the source is right).

The split is by source item, stratified by source: within each source the items are ordered by
sha256(item) and alternate tuned / held-out, so each source is halved and the split never changes when
other sources are added.

Usage: python tests/verify/external/build.py [--mirror DIR] [--heldout]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from rlev_cli.ingest.gaokao import _gaokao_item  # noqa: E402  (the ingest's own reference and qtype)

SOURCES = {
    "gaokao": ("OpenLMLab/GAOKAO-Bench", "6dbb24f8d8439041e5431c4c184a582182a6ce9c"),
    "mmlu-pro": ("TIGER-AI-Lab/MMLU-Pro", "f418b116db00b065c2aea046518d8fcf74d39872"),
    "gsm8k": ("openai/grade-school-math", "3101c7d5072418e28b9008a6636bde82a006892c"),
    "math-verify": ("huggingface/Math-Verify", "5d148cfaaf99214c2e4ffb4bc497ab042c592a7a"),
    "theoremqa": ("TIGER-AI-Lab/TheoremQA", "acfc9686aa9b49f3c8f189364a9a9ee9c53da039"),
}
GAOKAO_OBJ_PER_FILE = 90  # responses per objective file (14 files): ~1,250 exam answers
GAOKAO_OBJ_MATH_PER_FILE = 214  # the two math MCQ files are kept whole
MMLU_PRO_MODELS = {  # model -> responses drawn (a chat model, an instruct model, a math model, an API model)
    "Qwen1.5-7B-Chat": 90,
    "Meta-Llama-3_1-8B-Instruct": 90,
    "mathstral-7B": 90,
    "gemini-1.5-pro-002": 90,
}
GSM8K_ITEMS = 110
THEOREMQA_ITEMS = 110  # questions; both released models' outputs for each
THEOREMQA_MODELS = {
    "Mistral_7B_v0.1_5shots_mistral": "Mistral-7B-v0.1",
    "internlm2_math_20b_5shots_short": "internlm2-math-20b",
}  # questions; two of the four released model solutions each
QUESTION_CHARS = 400
# cases a source ships that no model wrote; dropped after the split, so no other case changes half
CONSTRUCTED = {
    "math-verify/test_open_thoughts/27": "the maintainers' contrast case: text put between two \\boxed{}",
    "math-verify/test_open_thoughts/28": "the maintainers' contrast case: filler 'no no no' between two \\boxed{}",
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Mirror:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, key: str, path: str) -> bytes:
        repo, commit = SOURCES[key]
        git_dir = self.root / repo.replace("/", "+") / "repo"
        if not git_dir.exists():
            raise SystemExit(f"Error: {git_dir} is missing: clone {repo} there (see SOURCES.md)")
        return subprocess.run(
            ["git", "-C", str(git_dir), "show", f"{commit}:{path}"], check=True, capture_output=True
        ).stdout


def abridge(text: str) -> str:
    text = text.strip()
    if len(text) <= QUESTION_CHARS:
        return text
    half = QUESTION_CHARS // 2
    return text[:half] + " … " + text[-half:]


# ---- failure families (tags for the per-family report; a case may carry several) -----------------------

_FAMILIES: list[tuple[str, Any]] = [
    (
        "zh: 选项X in an explanation",
        lambda c: re.search(r"选项\s*[A-J]\s*(?:是|为)?\s*(?:错误|不正确|正确|错)", c["response"]),
    ),
    ("zh: 【答案】 tag", lambda c: "【答案】" in c["response"]),
    ("several slots", lambda c: "," in c["reference"] and re.fullmatch(r"[A-J]+(,[A-J]+)+", c["reference"])),
    ("several \\boxed in the response", lambda c: c["response"].count("\\boxed") > 1),
    ("several \\boxed or answers in the reference", lambda c: c["reference"].count("\\boxed") > 1),
    ("name=value reference", lambda c: re.match(r"^\$?\s*\(?[A-Za-z_{}\\ ,;]{1,20}\)?\s*=", c["reference"])),
    ("thousands separator", lambda c: re.search(r"\d\{,\}\d|\d,\\!\d|\d{1,3},\d{3}\b", c["response"] + c["reference"])),
    ("\\text{} unit", lambda c: re.search(r"\\(?:text|mathrm)\{\s*[A-Za-z~]", c["reference"])),
    ("escaped \\$", lambda c: "\\$" in c["response"] or "\\$" in c["reference"]),
    ("long chain-of-thought math", lambda c: c["qtype"] in MATH_QTYPES and len(c["response"]) >= 600),
    ("zh: 答案是 <option content> before a later letter", lambda c: _content_then_letter(c)),
    (
        "an answer statement well before the end",
        lambda c: re.search(r"(?:answer is|答案)", c["response"][: max(0, len(c["response"]) - 300)]),
    ),
]
MATH_QTYPES = ("numeric", "fill_blank", "free_form")


_CONTENT_ANSWER = re.compile(r"(?:答案|正确选项)(?:是|为|应该是)\s*[“\"「:：]?\s*(?![A-J](?:[^A-Za-z]|$))[^\n。]{2,}")


def _content_then_letter(case: dict[str, Any]) -> bool:
    """答案是 followed by an option's content, not its letter, and a letter later on."""
    if case["qtype"] not in ("single_choice", "multi_choice"):
        return False
    match = _CONTENT_ANSWER.search(case["response"])
    return bool(match and re.search(r"[A-J]", case["response"][match.end() :]))


def families(case: dict[str, Any]) -> list[str]:
    return [name for name, test in _FAMILIES if test(case)]


# ---- the sources ---------------------------------------------------------------------------------------


def gaokao_objective(mirror: Mirror) -> list[dict[str, Any]]:
    """GPT-4-0314's answers to GAOKAO-Bench's objective questions. The source's verdict is its own scoring
    (Bench/OBJ_score_evaluation.py): the extracted `model_answer` equals `standard_answer`, slot by slot;
    the item is correct when every slot is."""
    out = []
    listing = subprocess.run(
        [
            "git",
            "-C",
            str(mirror.root / "OpenLMLab+GAOKAO-Bench" / "repo"),
            "ls-tree",
            "--name-only",
            SOURCES["gaokao"][1],
            "Results/gpt_4_0314_obj/",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for path in sorted(p for p in listing if p.endswith(".json")):
        stem = Path(path).stem.removeprefix("gpt-4-0314_")
        data = json.loads(mirror.read("gaokao", path))
        rows = []
        for ex in data["example"]:
            item = {k: ex[k] for k in ("year", "category", "question", "score")} | {"answer": ex["standard_answer"]}
            row, why = _gaokao_item(item, path, stem)
            if why:
                continue
            label = [a.strip().upper() for a in ex["model_answer"]] == [
                a.strip().upper() for a in ex["standard_answer"]
            ]
            rows.append(
                {
                    "id": f"gaokao-obj/{stem}/{ex['index']}",
                    "item": f"gaokao/{stem}/{ex['index']}",
                    "source": "GAOKAO-Bench objective (GPT-4-0314)",
                    "source_path": path,
                    "model": "gpt-4-0314",
                    "lang": "en" if "English" in stem else "zh",
                    "qtype": row["qtype"],
                    "question": abridge(ex["question"]),
                    "options": None,
                    "reference": row["answer"],
                    "response": ex["model_output"],
                    "source_label": label,
                }
            )
        quota = GAOKAO_OBJ_MATH_PER_FILE if "Math" in stem else GAOKAO_OBJ_PER_FILE
        out += sorted(rows, key=lambda r: sha(r["id"]))[:quota]
    return out


def gaokao_fill_in(mirror: Mirror) -> list[dict[str, Any]]:
    """GPT-4-0314's answers to GAOKAO-Bench's math fill-in questions, graded by the benchmark's teacher model
    (GPT-4-1106-preview, `model_correction_score`, without marking criteria): correct = full points."""
    out = []
    for part in ("Math_I", "Math_II"):
        stem = f"2010-2022_{part}_Fill-in-the-Blank"
        path = (
            "Results/gpt_4_0314_sub/gpt-4-1106-preview_correction_wo_marking_criterion/"
            f"gpt-4-0314_{stem}_wo_marking_criterion.json"
        )
        for ex in json.loads(mirror.read("gaokao", path))["example"]:
            item = {k: ex[k] for k in ("year", "category", "question", "score")} | {"answer": ex["standard_answer"]}
            row, why = _gaokao_item(item, path, stem)
            if why:
                continue
            scores = ex["model_correction_score"]
            out.append(
                {
                    "id": f"gaokao-fill/{stem}/{ex['index']}",
                    "item": f"gaokao/{stem}/{ex['index']}",
                    "source": "GAOKAO-Bench math fill-in (GPT-4-0314, teacher-graded)",
                    "source_path": path,
                    "model": "gpt-4-0314",
                    "lang": "zh",
                    "qtype": row["qtype"],
                    "question": abridge(ex["question"]),
                    "options": None,
                    "reference": row["answer"],
                    "response": ex["model_output"],
                    "source_label": sum(scores) >= float(ex["score"]),
                }
            )
    return out


def mmlu_pro(mirror: Mirror) -> list[dict[str, Any]]:
    """MMLU-Pro's released 5-shot CoT outputs. The source's verdict: its extraction (`pred`, first "answer
    is (X)", then "Answer: X", then the last lone capital) equals `answer`; no extraction (`pred` null) is
    wrong here (the official script would draw a random letter)."""
    out = []
    for model, quota in MMLU_PRO_MODELS.items():
        path = f"eval_results/model_outputs_{model}_5shots.zip"
        with zipfile.ZipFile(io.BytesIO(mirror.read("mmlu-pro", path))) as archive:
            (name,) = [n for n in archive.namelist() if n.endswith(".json")]
            rows = json.loads(archive.read(name))
        picked = sorted(rows, key=lambda r: sha(f"{model}/{r['question_id']}"))[:quota]
        for r in picked:
            options = r["options"] if isinstance(r["options"], list) else ast.literal_eval(r["options"])
            out.append(
                {
                    "id": f"mmlu-pro/{model}/{r['question_id']}",
                    "item": f"mmlu-pro/{r['question_id']}",
                    "source": "MMLU-Pro eval_results",
                    "source_path": f"{path}:{name}",
                    "model": model,
                    "lang": "en",
                    "qtype": "single_choice",
                    "question": abridge(r["question"]),
                    "options": [str(o).strip() for o in options],
                    "reference": r["answer"],
                    "response": r["generated_text"] if "generated_text" in r else r["model_outputs"],
                    "source_label": r["pred"] is not None and r["pred"] == r["answer"],
                }
            )
    return out


def gsm8k(mirror: Mirror) -> list[dict[str, Any]]:
    """GSM8K's example_model_solutions.jsonl: four GPT-3 solutions per test question (6B/175B, finetuned or
    verifier-selected), each with the release's `is_correct`. The reference is the number after "A:" in
    the ground truth (GSM8K's "####" answer), a numeric answer as `rlev ingest` infers it."""
    path = "grade_school_math/data/example_model_solutions.jsonl"
    lines = mirror.read("gsm8k", path).decode("utf-8").splitlines()
    out = []
    order = sorted(range(len(lines)), key=lambda i: sha(f"gsm8k/{i}"))[:GSM8K_ITEMS]
    for i in order:
        row = json.loads(lines[i])
        reference = row["ground_truth"].rsplit("A:", 1)[1].strip()
        models = sorted(
            ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"),
            key=lambda m, i=i: sha(f"gsm8k/{i}/{m}"),
        )[:2]
        for model in models:
            value = row[model]
            sol = ast.literal_eval(value) if isinstance(value, str) else value
            out.append(
                {
                    "id": f"gsm8k/{i}/{model}",
                    "item": f"gsm8k/{i}",
                    "source": "GSM8K example model solutions",
                    "source_path": path,
                    "model": f"gpt-3 {model}",
                    "lang": "en",
                    "qtype": "numeric",
                    "question": abridge(row["question"]),
                    "options": None,
                    "reference": reference,
                    "response": sol["solution"],
                    "source_label": bool(sol["is_correct"]),
                }
            )
    return out


def _number(text: Any) -> float | None:
    """TheoremQA's number_it, in short: units and $ dropped, then a float, else LaTeX read by latex2sympy."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    text = str(text).replace("%", "/100").replace("$", "").replace("°", "").strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        from latex2sympy2_extended import latex2sympy

        return float(latex2sympy(text).evalf())
    except Exception:
        return None


def theoremqa_verdict(pred: str, truth: str, truth_num: Any) -> bool:
    """TheoremQA's compare_answer_with_groundtruth (utils.py) on the released `pred`: an option letter by
    containment, else the same text, else integers by rounding, floats within 4 % (relative), lists of
    numbers element by element after sorting."""
    if truth.lower() in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)"):
        return truth.lower() in pred.lower()
    if pred.lower() == truth.lower():
        return True
    if truth_num is None:
        return False

    def close(p: float | None, g: float | int) -> bool:
        if p is None or p != p:
            return False
        if isinstance(g, int):
            return round(p) == g
        return abs(p - g) <= abs(g) * 0.04

    if isinstance(truth_num, (int, float)):
        return close(_number(pred), truth_num)
    if not (pred.startswith("(") and pred.endswith(")")):
        return False
    values = [_number(v) for v in pred[1:-1].split(",")]
    if len(values) != len(truth_num) or any(v is None for v in values):
        return False
    return all(close(p, g) for p, g in zip(sorted(values), sorted(truth_num), strict=True))  # type: ignore[type-var]


def theoremqa(mirror: Mirror) -> list[dict[str, Any]]:
    """TheoremQA's released outputs of two models (5-shot): the verdict is TheoremQA's own comparison of
    its extracted `pred` with the answer (reimplemented above; its extraction is crude, e.g. any "no" in
    the answer text becomes False, so the hand reading overrules it often)."""
    import pyarrow as pa

    from rlev_cli.ingest.qtypes import infer_qtypes

    out = []
    keep = None
    for stem, model in THEOREMQA_MODELS.items():
        path = f"outputs/{stem}.jsonl"
        rows = [
            json.loads(line) for line in mirror.read("theoremqa", path).decode("utf-8").splitlines() if line.strip()
        ]
        if keep is None:
            keep = set(
                sorted(range(len(rows)), key=lambda i: sha(f"theoremqa/{rows[i]['question']}"))[:THEOREMQA_ITEMS]
            )
        for i in sorted(keep):
            r = rows[i]
            truth, truth_num = r["correct"]
            reference = str(truth).strip()
            out.append(
                {
                    "id": f"theoremqa/{model}/{i}",
                    "item": f"theoremqa/{sha(r['question'])[:12]}",
                    "source": "TheoremQA outputs",
                    "source_path": path,
                    "model": model,
                    "lang": "en",
                    "qtype": infer_qtypes(pa.array([reference]))[0].as_py(),
                    "question": abridge(r["question"]),
                    "options": None,
                    "reference": reference,
                    "response": r["solution"],
                    "source_label": theoremqa_verdict(str(r["pred"]).strip(), reference, truth_num),
                }
            )
    return out


def _parametrized(source: str) -> list[tuple[str, str, int]]:
    """The (gold, pred, expected) tuples of a Math-Verify test module's @pytest.mark.parametrize lists."""
    tree = ast.parse(source)
    cases = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize":
            names = ast.literal_eval(node.args[0]).replace(" ", "")
            if not names.startswith("gold,pred,"):
                continue
            for elt in node.args[1].elts:  # type: ignore[attr-defined]
                try:
                    gold, pred, expected = (ast.literal_eval(e) for e in elt.elts[:3])
                except ValueError:  # a case built with an f-string: not a model's output
                    continue
                cases.append((gold, pred, int(expected)))
    return cases


def math_verify_tests(mirror: Mirror) -> list[dict[str, Any]]:
    """Math-Verify's regression cases taken from real model outputs (OpenThoughts, NuminaMath final answers;
    and from test_all.py the whole chain-of-thought MATH solutions, a prediction of 150 characters or
    more: the shorter ones there are written by hand): a gold answer and a model's answer, with the
    maintainers' verdict. Math-Verify passes these by construction, so they are reported apart."""
    out = []
    modules = (
        ("tests/test_open_thoughts.py", "OpenThoughts", 0),
        ("tests/test_numina_cases.py", "NuminaMath", 0),
        ("tests/test_all.py", "MATH chain-of-thought", 150),
    )
    for module, model, min_chars in modules:
        for n, (gold, pred, expected) in enumerate(_parametrized(mirror.read("math-verify", module).decode())):
            if len(pred) < min_chars:
                continue
            gold_text = gold.strip()
            out.append(
                {
                    "id": f"math-verify/{Path(module).stem}/{n}",
                    "item": f"math-verify/{Path(module).stem}/{sha(gold_text)[:12]}",
                    # the whole MATH solutions are a source of their own: the split alternates within a source,
                    # so adding them to the OpenThoughts/NuminaMath source would have moved its items
                    "source": "Math-Verify tests, MATH chain-of-thought"
                    if min_chars
                    else "Math-Verify tests (real model answers)",
                    "source_path": module,
                    "model": model,
                    "lang": "en",
                    "qtype": "free_form",
                    "question": "",
                    "options": None,
                    # a MATH-style reference: the gold in \boxed{}, as a worked solution would hold it
                    # (a gold that is a whole worked solution without \boxed is kept as it is: the judge's)
                    "reference": gold_text
                    if "\\boxed" in gold_text or len(gold_text) > 120
                    else f"$\\boxed{{{_unwrap(gold_text)}}}$",
                    "response": pred,
                    "source_label": bool(expected),
                }
            )
    return out


def _unwrap(text: str) -> str:
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) > len(left) + len(right):
            return text[len(left) : -len(right)].strip()
    return text


# ---- assembly ------------------------------------------------------------------------------------------


def load_decisions() -> dict[str, tuple[bool | None, str]]:
    path = HERE / "decisions.tsv"
    out: dict[str, tuple[bool | None, str]] = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        case_id, label, reason = line.split("\t", 2)
        if case_id in out:
            raise SystemExit(f"Error: decisions.tsv:{n}: {case_id} decided twice")
        out[case_id] = ({"true": True, "false": False, "null": None}[label], reason.strip())
    return out


def split(cases: list[dict[str, Any]]) -> None:
    items_by_source: dict[str, set[str]] = defaultdict(set)
    for c in cases:
        items_by_source[c["source"]].add(c["item"])
    half = {}
    for items in items_by_source.values():
        for n, item in enumerate(sorted(items, key=sha)):
            half[item] = "tuned" if n % 2 == 0 else "heldout"
    for c in cases:
        c["half"] = half[c["item"]]


def build(mirror: Mirror) -> list[dict[str, Any]]:
    cases = gaokao_objective(mirror) + gaokao_fill_in(mirror) + mmlu_pro(mirror) + gsm8k(mirror)
    cases += math_verify_tests(mirror) + theoremqa(mirror)
    ids = Counter(c["id"] for c in cases)
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    decisions = load_decisions()
    unknown = set(decisions) - set(ids)
    if unknown:
        raise SystemExit(f"Error: decisions.tsv names unknown cases: {sorted(unknown)[:5]}")
    split(cases)
    cases = [c for c in cases if c["id"] not in CONSTRUCTED]
    for c in cases:
        c["families"] = families(c)
        label, reason = decisions.get(c["id"], (c["source_label"], ""))
        c["label"], c["decision_reason"] = label, reason
    return sorted(cases, key=lambda c: c["id"])


FIELDS = (
    "id",
    "item",
    "half",
    "source",
    "source_path",
    "model",
    "lang",
    "qtype",
    "families",
    "question",
    "options",
    "reference",
    "response",
    "source_label",
    "label",
    "decision_reason",
)


def write(cases: list[dict[str, Any]], path: Path) -> None:
    text = "".join(json.dumps({k: c[k] for k in FIELDS}, ensure_ascii=False) + "\n" for c in cases)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=Path(os.environ.get("RLEV_MIRROR", "/work/.mirror")))
    parser.add_argument("--heldout", action="store_true", help="also write heldout.jsonl")
    args = parser.parse_args()
    cases = build(Mirror(args.mirror))
    write([c for c in cases if c["half"] == "tuned"], HERE / "tuned.jsonl")
    if args.heldout:
        write([c for c in cases if c["half"] == "heldout"], HERE / "heldout.jsonl")
    counts = Counter((c["source"], c["half"]) for c in cases)
    for source in sorted({c["source"] for c in cases}):
        print(f"{source}: tuned {counts[(source, 'tuned')]}, held-out {counts[(source, 'heldout')]}")
    print(f"total {len(cases)}")


if __name__ == "__main__":
    main()
