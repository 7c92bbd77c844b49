"""`rlev evaluate` against lm-evaluation-harness on the same questions, model and prompt variant.

    python benchmarks/lm_eval_parity.py --model PATH|tiny|smollm2-135m-instruct [--limit 8] [--max-new-tokens 128]
        [--lm-eval-python /path/to/venv/bin/python] [--out DIR] [--json] [--strict]

Both sides run the same model offline with greedy decoding, batch size 1, through the model's chat template:
rlev as `rlev evaluate --variant …`, lm-eval (0.4.12+) as `simple_evaluate(model="hf",
apply_chat_template=True)` over task configs of its own written here, each `include:`-ing lm-eval's task
and pointing it at the local fixture file (lm-eval's "Using Local Datasets"). Per question it compares the
rendered prompt, the response (cut at the task's `until`), the extracted answer and the verdict; then the
accuracies. Differences are listed item by item; `--strict` exits 1 when there is any.

The pairs (rlev `--variant` <-> lm-eval task, rows):
- `mmlu_pro=lm-eval-cot-0shot` <-> `mmlu_pro` (`_default_template_yaml`, custom-extract) with `num_fewshot: 0`,
  on fixtures/ood/mmlu_pro.jsonl;
- `gpqa_diamond=lm-eval-cot-0shot` <-> `gpqa_diamond_cot_zeroshot` (flexible-extract) in rlev's option order,
  on synthetic rows (GPQA is gated);
- `ceval=official-answer-only-0shot` <-> lm-eval has no generative C-Eval task (`ceval-valid` scores
  loglikelihoods), so a `generate_until` task with the official `chatgpt.py` prompt and its extractor as a
  `custom` filter, written here from `chatgpt.py` (not from rlev), on fixtures/ood/ceval.jsonl's val rows.

lm-eval may live in another environment (`--lm-eval-python`, or $RLEV_LM_EVAL_PYTHON); by default this
interpreter is used when it can import `lm_eval`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("RLEV_FIXTURES") or REPO.parent / "shared" / "fixtures")

# Synthetic GPQA-style rows (GPQA is gated: its rows are never written anywhere). Made up for this check.
SYNTHETIC_GPQA = [
    ("What is 2 + 2?", "4", "3", "5", "22"),
    ("Which planet is closest to the Sun?", "Mercury", "Venus", "Mars", "Earth"),
    ("What is the chemical symbol of sodium?", "Na", "So", "S", "N"),
    ("How many chromosomes does a typical human somatic cell have?", "46", "23", "44", "48"),
    ("What is the SI unit of force?", "newton", "joule", "watt", "pascal"),
    ("Which gas do plants take in for photosynthesis?", "carbon dioxide", "oxygen", "nitrogen", "helium"),
    ("What is the derivative of x^2 with respect to x?", "2x", "x", "x^2", "2"),
    ("Which particle carries a negative electric charge?", "electron", "proton", "neutron", "photon"),
]

# The three parity pairs: benchmark -> (rlev --variant, lm-eval task name written below)
PAIRS = {
    "mmlu_pro": ("lm-eval-cot-0shot", "rlev_parity_mmlu_pro"),
    "gpqa_diamond": ("lm-eval-cot-0shot", "rlev_parity_gpqa_diamond"),
    "ceval": ("official-answer-only-0shot", "rlev_parity_ceval"),
}
# lm-eval logs one sample per document and filter: the filter each rlev variant reproduces
FILTERS = {"mmlu_pro": "custom-extract", "gpqa_diamond": "flexible-extract", "ceval": "chatgpt-extract"}

TASK_UTILS = '''
"""Parity task helpers for lm-eval (written by rlev's benchmarks/lm_eval_parity.py)."""
import random
import re

from lm_eval.tasks.gpqa.cot_zeroshot.utils import preprocess


def gpqa_docs(dataset):
    """lm-eval's gpqa cot_zeroshot process_docs with one change: the option order is rlev's documented
    per-item permutation, random.Random(f"{seed}:{Record ID}").sample(range(4), 4) over
    [correct, inc1, inc2, inc3], instead of the global random.shuffle (which depends on load order)."""

    def one(doc):
        base = [preprocess(doc[k]) for k in ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                                             "Incorrect Answer 3")]
        perm = random.Random(f"0:{doc['Record ID']}").sample(range(4), 4)
        choices = [base[p] for p in perm]
        out = {f"choice{i + 1}": c for i, c in enumerate(choices)}
        out["choices"] = choices
        out["answer"] = f"({chr(65 + perm.index(0))})"
        return out

    return dataset.map(one)


SUBJECTS_ZH = SUBJECTS_ZH_PLACEHOLDER


def ceval_docs(dataset):
    return dataset.map(lambda doc: {"subject_zh": SUBJECTS_ZH.get(doc["_config"], doc["_config"])})


def ceval_text(doc):
    """hkust-nlp/ceval chatgpt.py, answer-only 0-shot: the instruction, then the question and options."""
    instruction = f"以下是中国关于{doc['subject_zh']}考试的单项选择题，请选出其中的正确答案。"
    options = "".join(f"\\n{k}. {doc[k]}" for k in "ABCD")
    return f"{instruction}\\n\\n{doc['question']}{options}\\n答案："


_PATTERNS = [
    r"^选([A-D])", r"^选项([A-D])", r"答案是\\s?选?项?\\s?([A-D])", r"答案为\\s?选?项?\\s?([A-D])",
    r"答案应为\\s?选?项?\\s?([A-D])", r"答案选\\s?选?项?\\s?([A-D])", r"答案是:\\s?选?项?\\s?([A-D])",
    r"答案应该是:\\s?选?项?\\s?([A-D])", r"正确的一项是\\s?([A-D])", r"答案为:\\s?选?项?\\s?([A-D])",
    r"答案应为:\\s?选?项?\\s?([A-D])", r"答案:\\s?选?项?\\s?([A-D])", r"答案是：\\s?选?项?\\s?([A-D])",
    r"答案应该是：\\s?选?项?\\s?([A-D])", r"答案为：\\s?选?项?\\s?([A-D])", r"答案应为：\\s?选?项?\\s?([A-D])",
    r"答案：\\s?选?项?\\s?([A-D])",
]


def _chatgpt_extract_ans(response_str):
    """chatgpt.py extract_ans on the stripped response; its last element is the answer."""
    ans_list = []
    if response_str[0] in ["A", "B", "C", "D"]:
        ans_list.append(response_str[0])
    for p in _PATTERNS:
        if len(ans_list) == 0:
            ans_list = re.findall(p, response_str)
        else:
            break
    return ans_list


def ceval_filter(resps, docs):
    out = []
    for group in resps:
        answers = []
        for r in group:
            r = r.strip()
            found = _chatgpt_extract_ans(r) if r else []
            answers.append(found[-1] if found else "[invalid]")
        out.append(answers)
    return out
'''


MMLU_PRO_DESCRIPTION = (
    "The following are multiple choice questions (with answers) about {{category}}. Think step by step and then "
    'finish your answer with \\"the answer is (X)\\" where X is the correct letter choice.\\n'
)
CEVAL_SYSTEM = "你是一个中文人工智能助手，以下是中国关于{{subject_zh}}考试的单项选择题，请选出其中的正确答案。"


def task_configs(lm_eval_tasks: Path, data: Path) -> dict[str, str]:
    """The three task YAMLs, each including lm-eval's own task (or, for C-Eval, built from chatgpt.py)."""
    return {
        "rlev_parity_mmlu_pro.yaml": textwrap.dedent(f"""\
            include: {lm_eval_tasks}/mmlu_pro/_default_template_yaml
            task: rlev_parity_mmlu_pro
            dataset_path: json
            dataset_name: null
            dataset_kwargs:
              data_files:
                test: {data}/mmlu_pro.jsonl
            fewshot_split: null
            num_fewshot: 0
            # lm-eval's per-category description (mmlu_pro_<category>.yaml), templated on the row's category
            description: "{MMLU_PRO_DESCRIPTION}"
            """),
        "rlev_parity_gpqa_diamond.yaml": textwrap.dedent(f"""\
            include: {lm_eval_tasks}/gpqa/cot_zeroshot/_gpqa_cot_zeroshot_yaml
            task: rlev_parity_gpqa_diamond
            dataset_path: json
            dataset_name: null
            dataset_kwargs:
              data_files:
                train: {data}/gpqa_diamond.jsonl
            process_docs: !function parity_utils.gpqa_docs
            """),
        "rlev_parity_ceval.yaml": textwrap.dedent(f"""\
            task: rlev_parity_ceval
            dataset_path: json
            dataset_name: null
            dataset_kwargs:
              data_files:
                val: {data}/ceval_val.jsonl
            test_split: val
            output_type: generate_until
            process_docs: !function parity_utils.ceval_docs
            description: "{CEVAL_SYSTEM}"
            doc_to_text: !function parity_utils.ceval_text
            doc_to_target: answer
            generation_kwargs:
              until: []  # chatgpt.py stops at the end of the reply only (lm-eval adds the EOS; its default is "\\n\\n")
              do_sample: false
              temperature: 0.0
            filter_list:
              - name: chatgpt-extract
                filter:
                  - function: custom
                    filter_fn: !function parity_utils.ceval_filter
                  - function: take_first
            metric_list:
              - metric: exact_match
                aggregation: mean
                higher_is_better: true
            metadata:
              version: 1.0
            """),
    }


def write_data(data: Path, limit: int) -> None:
    """The rows both sides read: fixture rows in the hub's columns (C-Eval: its val rows)."""
    data.mkdir(parents=True, exist_ok=True)
    mmlu = (FIXTURES / "ood" / "mmlu_pro.jsonl").read_text(encoding="utf-8").splitlines()[:limit]
    (data / "mmlu_pro.jsonl").write_text("\n".join(mmlu) + "\n", encoding="utf-8")
    ceval = [json.loads(line) for line in (FIXTURES / "ood" / "ceval.jsonl").read_text(encoding="utf-8").splitlines()]
    val = [row for row in ceval if row["_split"] == "val"][:limit]
    (data / "ceval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in val), "utf-8")
    # lm-eval reads the same rows without the val/dev marker column it does not know
    (data / "ceval_val.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in val), "utf-8")
    gpqa = [
        {
            "Question": f"SYNTHETIC TEST ITEM (not from GPQA): {q}",
            "Correct Answer": correct,
            "Incorrect Answer 1": inc1,
            "Incorrect Answer 2": inc2,
            "Incorrect Answer 3": inc3,
            "Record ID": f"synthetic-{i:04d}",
            "High-level domain": "synthetic",
            "Subdomain": "synthetic",
            "Canary String": "SYNTHETIC",
        }
        for i, (q, correct, inc1, inc2, inc3) in enumerate(SYNTHETIC_GPQA[:limit])
    ]
    (data / "gpqa_diamond.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gpqa), encoding="utf-8")


LM_EVAL_RUNNER = """
import json, sys
import lm_eval
from lm_eval.tasks import TaskManager
model, tasks_dir, out, max_new = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tasks = sys.argv[5].split(",")
res = lm_eval.simple_evaluate(
    model="hf", model_args=f"pretrained={model},dtype=float32", device="cpu", tasks=tasks,
    apply_chat_template=True, log_samples=True, bootstrap_iters=0, batch_size=1,
    gen_kwargs=f"max_gen_toks={max_new}", task_manager=TaskManager(include_path=tasks_dir),
)
keep = {}
for task, samples in res["samples"].items():
    keep[task] = [
        {"doc_id": s["doc_id"], "filter": s["filter"], "doc": s["doc"], "context": s["arguments"][0][0],
         "response": s["resps"][0][0], "extracted": s["filtered_resps"][0], "correct": float(s["exact_match"])}
        for s in samples
    ]
json.dump({"samples": keep, "results": res["results"], "version": lm_eval.__version__}, open(out, "w"), default=str)
"""


def lm_eval_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("RLEV_LM_EVAL_PYTHON"):
        return os.environ["RLEV_LM_EVAL_PYTHON"]
    if importlib.util.find_spec("lm_eval") is not None:
        return sys.executable
    raise SystemExit(
        "lm_eval is not importable here: pip install lm-eval, or pass --lm-eval-python / set RLEV_LM_EVAL_PYTHON"
    )


def run_lm_eval(python: str, model: str, tasks_dir: Path, out: Path, max_new_tokens: int) -> dict[str, Any]:
    lm_eval_tasks = subprocess.run(
        [python, "-c", "import lm_eval.tasks, os; print(os.path.dirname(lm_eval.tasks.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name, text in task_configs(Path(lm_eval_tasks), tasks_dir.parent / "data").items():
        (tasks_dir / name).write_text(text, encoding="utf-8")
    from rlev_cli.evaluate.benchmarks.ceval import CEVAL_SUBJECTS

    utils = TASK_UTILS.replace("SUBJECTS_ZH_PLACEHOLDER", repr(CEVAL_SUBJECTS))
    (tasks_dir / "parity_utils.py").write_text(utils, encoding="utf-8")
    tasks = ",".join(task for _, task in PAIRS.values())
    cmd = [python, "-c", LM_EVAL_RUNNER, model, str(tasks_dir), str(out), str(max_new_tokens), tasks]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_DATASETS_OFFLINE": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"lm-eval failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def run_rlev(model: str, data: Path, out: Path, limit: int, max_new_tokens: int) -> None:
    cmd = [sys.executable, "-m", "rlev_cli", "evaluate", "--model", model, "--data-dir", str(data)]
    cmd += ["--benchmarks", ",".join(PAIRS), "--limit", str(limit), "--max-new-tokens", str(max_new_tokens)]
    cmd += ["--batch-size", "1", "--out", str(out), "--json"]
    for bench, (variant, _) in PAIRS.items():
        cmd += ["--variant", f"{bench}={variant}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"rlev evaluate failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def item_id(bench: str, doc: dict[str, Any]) -> str:
    """rlev's item id for one lm-eval doc."""
    if bench == "mmlu_pro":
        return str(doc["question_id"])
    if bench == "gpqa_diamond":
        return str(doc["Record ID"])
    return f"{doc['_config']}/val/{doc['id']}"


def compare(rlev_out: Path, lm: dict[str, Any]) -> dict[str, Any]:
    """Per benchmark: counts of identical prompts (as each harness rendered them), responses, extractions and
    verdicts; the differences."""
    from rlev_cli.evaluate.benchmarks.registry import get

    predictions = pq.read_table(rlev_out / "predictions.parquet").to_pylist()
    fields = ("prompt", "response", "extracted", "correct")
    report: dict[str, Any] = {"lm_eval_version": lm["version"], "benchmarks": {}}
    for bench, (variant, task) in PAIRS.items():
        ours = {p["id"]: p for p in predictions if p["benchmark"] == bench}
        cut = get(bench).variant(variant).cut
        rows, diffs = [], []
        samples = [s for s in lm["samples"][task] if s["filter"] == FILTERS[bench]]
        for sample in samples:
            key = item_id(bench, sample["doc"])
            mine = ours[key]
            letter = str(sample["extracted"]).strip("()")
            rlev_side = {
                "prompt": mine["rendered_prompt"],  # what rlev gave the model, as recorded in predictions.parquet
                "response": cut(mine["response"]),
                "extracted": mine["extracted"],
                "correct": bool(mine["correct"]),
            }
            lm_side = {
                "prompt": sample["context"],
                "response": sample["response"],
                "extracted": None if letter == "[invalid]" else letter,
                "correct": sample["correct"] == 1.0,
            }
            same = {field: rlev_side[field] == lm_side[field] for field in fields}
            rows.append(same)
            diffs += [
                {"id": key, "field": f, "rlev": rlev_side[f], "lm_eval": lm_side[f]} for f in fields if not same[f]
            ]
        n = len(rows)
        report["benchmarks"][bench] = {
            "rlev_variant": variant,
            "lm_eval_task": task,
            "n": n,
            **{f"same_{f}": sum(r[f] for r in rows) for f in fields},
            "acc_rlev": round(100 * sum(bool(ours[k]["correct"]) for k in ours) / max(len(ours), 1), 2),
            "acc_lm_eval": round(100 * sum(s["correct"] for s in samples) / max(n, 1), 2),
            "lm_eval_filter": FILTERS[bench],
            "differences": diffs,
        }
    return report


def print_report(report: dict[str, Any]) -> None:
    print(f"lm-eval {report['lm_eval_version']}   model {report['model']}   {report['seconds']:.0f} s")
    print(
        f"{'benchmark':<14}{'n':>4}{'prompt':>8}{'response':>10}{'answer':>8}{'verdict':>9}"
        f"{'Acc rlev':>10}{'Acc lm-eval':>13}"
    )
    for bench, row in report["benchmarks"].items():
        print(
            f"{bench:<14}{row['n']:>4}{row['same_prompt']:>8}{row['same_response']:>10}{row['same_extracted']:>8}"
            f"{row['same_correct']:>9}{row['acc_rlev']:>10.2f}{row['acc_lm_eval']:>13.2f}"
        )
    print("(prompt/response/answer/verdict: items where both harnesses agree)")
    for bench, row in report["benchmarks"].items():
        for diff in row["differences"]:
            print(
                f"  {bench} {diff['id']} {diff['field']}: rlev {diff['rlev']!r:.200} | lm-eval {diff['lm_eval']!r:.200}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="an HF folder, a .gguf file or alias, or tiny")
    parser.add_argument("--limit", type=int, default=8, help="questions per benchmark")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--lm-eval-python", default=None)
    parser.add_argument("--out", type=Path, default=None, help="keep the work folder here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any difference")
    args = parser.parse_args()

    from rlev_cli.tiny import resolve_model

    work = args.out or Path(tempfile.mkdtemp(prefix="rlev-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    model = resolve_model(args.model, work / "ws")  # the same folder for both sides
    data, tasks_dir = work / "data", work / "lm_eval_tasks"
    tasks_dir.mkdir(exist_ok=True)
    write_data(data, args.limit)
    start = time.perf_counter()
    run_rlev(model, data, work / "rlev", args.limit, args.max_new_tokens)
    lm = run_lm_eval(lm_eval_python(args.lm_eval_python), model, tasks_dir, work / "lm_eval.json", args.max_new_tokens)
    report = compare(work / "rlev", lm)
    report.update(model=model, seconds=time.perf_counter() - start, work=str(work))
    (work / "parity.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_report(report)
    if args.strict and any(row["differences"] for row in report["benchmarks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
