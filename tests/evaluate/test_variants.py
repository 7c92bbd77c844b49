"""The other official prompt variants (`--variant BENCH=NAME`): few-shot C-Eval on the real dev rows,
MMLU-Pro five-shot, SuperGPQA with subfield, lm-eval's GPQA CoT; each with its own extractor."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks import (
    VARIANTS,
    extract_ceval_cot,
    extract_ceval_few_shot,
    extract_gpqa_lm_eval,
    extract_mmlu_pro_lm_eval,
    gpqa_item,
    load_items,
)
from tests.conftest import OOD
from tests.evaluate.test_benchmarks import SYNTHETIC_GPQA

runner = CliRunner()
CEVAL_ROWS = [json.loads(line) for line in (OOD / "ceval.jsonl").read_text(encoding="utf-8").splitlines()]
MMLU_ROWS = [json.loads(line) for line in (OOD / "mmlu_pro.jsonl").read_text(encoding="utf-8").splitlines()]


def _data_dir(tmp_path, name, rows):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return data


def test_ceval_five_shot_uses_the_first_five_dev_rows_as_turns(tmp_path):
    network = [r for r in CEVAL_ROWS if r["_config"] == "computer_network"]
    data = _data_dir(tmp_path, "ceval", network)
    items, _ = load_items("ceval", data, 0, "val", "official-answer-only-5shot")
    assert len(items) == 8 and items[0].prompt_format == "ceval/official-answer-only-5shot/v1"
    messages = items[0].messages
    instruction = "以下是中国关于计算机网络考试的单项选择题，请选出其中的正确答案。"
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * 5 + ["user"]
    assert messages[0]["content"] == "你是一个中文人工智能助手，" + instruction
    dev = network[:5]
    assert messages[1]["content"] == (
        f"{instruction}\n\n{dev[0]['question']}\nA. {dev[0]['A']}\nB. {dev[0]['B']}\nC. {dev[0]['C']}"
        f"\nD. {dev[0]['D']}\n答案："
    )
    assert [m["content"] for m in messages[2:11:2]] == [r["answer"] for r in dev]
    assert messages[-1]["content"].startswith(network[5]["question"]) and messages[-1]["content"].endswith("答案：")

    cot, _ = load_items("ceval", data, 0, "val", "official-cot-5shot")
    assert (
        cot[0].messages[2]["content"]
        == f"让我们一步一步思考，\n{dev[0]['explanation']}\n所以答案是{dev[0]['answer']}。"
    )


def test_ceval_five_shot_refuses_a_subject_without_dev_rows():
    with pytest.raises(RlevError) as err:
        load_items("ceval", OOD, 0, "val", "official-answer-only-5shot")
    assert str(err.value) == (
        "ceval official-answer-only-5shot: no dev rows (the few-shot exemplars) for subject 'high_school_mathematics'"
    )


def test_mmlu_pro_five_shot_needs_and_uses_the_validation_rows(tmp_path):
    with pytest.raises(RlevError) as err:
        load_items("mmlu_pro", OOD, 0, "val", "official-cot-5shot")
    assert str(err.value).startswith("mmlu_pro official-cot-5shot: no validation rows for biology, business,")
    # SYNTHETIC exemplars (the real ones are in the hub's validation split, not in our fixtures)
    shots = [
        {
            "question_id": 9000 + k,
            "question": f"SYNTHETIC exemplar {k}",
            "options": ["yes ", "no"],
            "answer": "A",
            "answer_index": 0,
            "cot_content": f"A: Let's think step by step. Step {k}. The answer is (A).",
            "category": "biology",
            "src": "cot_lib-synthetic",
            "_split": "validation",
        }
        for k in range(6)
    ]
    data = _data_dir(tmp_path, "mmlu_pro", [MMLU_ROWS[0], *shots])  # row 0 is biology
    (item,) = load_items("mmlu_pro", data, 0, "val", "official-cot-5shot")[0]
    prompt = item.messages[-1]["content"]
    # the official header: cot_prompt_lib/initial_prompt.txt (ending "choice.\n\n\n") + "\n" (generate_cot_prompt)
    assert prompt.startswith(
        "The following are multiple choice questions (with answers) about biology. Think step by step and then "
        'finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n\n\n'
        "Question:\nSYNTHETIC exemplar 0\nOptions:\nA. yes\nB. no\n"
        "Answer: Let's think step by step. Step 0. The answer is (A).\n\n"
    )
    assert prompt.count("SYNTHETIC exemplar") == 5 and "exemplar 5" not in prompt  # the first five only
    assert prompt.endswith(
        f"Question:\n{MMLU_ROWS[0]['question']}\nOptions:\n"
        + "".join(f"{'ABCDEFGHIJ'[i]}. {o.strip()}\n" for i, o in enumerate(MMLU_ROWS[0]["options"]))
        + "Answer: Let's think step by step."
    )
    (lm_eval,) = load_items("mmlu_pro", data, 0, "val", "lm-eval-cot-5shot")[0]
    # lm-eval's description ends in one newline (mmlu_pro_<category>.yaml) and is the system turn under
    # --apply_chat_template; the shots and the question are the one user turn
    header, rest = prompt.split("letter choice.\n\n\n\n")
    assert lm_eval.messages == [
        {"role": "system", "content": header + "letter choice.\n"},
        {"role": "user", "content": rest},
    ]
    assert item.prompt_format == "mmlu_pro/official-cot-5shot/v2" and lm_eval.prompt_format.endswith("/v2")
    (zero_shot,) = load_items("mmlu_pro", data, 0, "val", "lm-eval-cot-0shot")[0]
    assert zero_shot.messages[0] == lm_eval.messages[0]
    assert zero_shot.messages[1]["content"] == rest[rest.index(f"Question:\n{MMLU_ROWS[0]['question']}") :]


def test_supergpqa_with_subfield_and_gpqa_lm_eval_prompts():
    sub = load_items("supergpqa", OOD, 0, variant="official-zero-shot-with-subfield")[0][0]
    assert sub.messages[-1]["content"].startswith(
        "Answer the following multiple choice question about Organic Chemistry. There is only one correct answer."
    )
    item = gpqa_item(SYNTHETIC_GPQA, 0, "lm-eval-cot-0shot")
    assert item.messages[-1]["content"] == (
        "What is the correct answer to this question:SYNTHETIC TEST ITEM (not from GPQA): what is 2 + 2?\nChoices:\n"
        + "".join(f"({k}) {o}\n" for k, o in zip("ABCD", item.options, strict=True))
        + "Let's think step by step: "
    )


@pytest.mark.parametrize(
    "extract,response,expected",
    [
        (extract_ceval_few_shot, "B", ("B", "exact_match")),
        (extract_ceval_few_shot, " c。", (None, "miss")),  # the full-width stop is not ASCII punctuation
        (extract_ceval_few_shot, "(d)", ("D", "exact_match")),
        (extract_ceval_few_shot, "答案是B", (None, "miss")),
        (extract_ceval_cot, "先看A。再看B。所以答案是B。", ("B", "cot0")),
        (extract_ceval_cot, "所以答案是B。不，答案是 C 。", ("C", "cot0")),
        (extract_ceval_cot, "选项A是正确的。", ("A", "cot2")),
        (extract_ceval_cot, "答案是第二个。", (None, "miss")),
        (extract_mmlu_pro_lm_eval, "Answer: B", (None, "miss")),
        (extract_mmlu_pro_lm_eval, "the answer is J. Wait, the answer is (A)", ("J", "L1")),
        (extract_gpqa_lm_eval, "Not (A); the answer is (c).", ("A", "flexible")),  # "(\([A-Z]\))": capitals only
        (extract_gpqa_lm_eval, "Answer: B", (None, "miss")),
    ],
)
def test_variant_extractors(extract, response, expected):
    assert extract(response) == expected


def test_variant_option_end_to_end_and_its_errors(tmp_path, workspace):
    network = [r for r in CEVAL_ROWS if r["_config"] == "computer_network"]
    data = _data_dir(tmp_path, "ceval", network)
    val = network[5:]
    responses = tmp_path / "responses.jsonl"
    answers = [r["answer"] for r in val[:4]] + [f"答案是{r['answer']}" for r in val[4:]]  # the last 4 are not exact
    responses.write_text(
        "".join(
            json.dumps({"benchmark": "ceval", "id": f"computer_network/val/{r['id']}", "response": a}) + "\n"
            for r, a in zip(val, answers, strict=True)
        )
    )
    args = ["evaluate", "--responses", str(responses), "--benchmarks", "ceval", "--data-dir", str(data)]
    result = runner.invoke(app, [*args, "--variant", "ceval=official-answer-only-5shot", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    (summary,) = pq.read_table(tmp_path / "a" / "summary.parquet").to_pylist()
    assert summary["acc"] == 50.0  # few-shot answer-only wants the bare letter
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])  # the default 0-shot extractor takes both
    assert result.exit_code == 0, result.output
    (summary,) = pq.read_table(tmp_path / "b" / "summary.parquet").to_pylist()
    assert summary["acc"] == 100.0
    formats = set(pq.read_table(tmp_path / "a" / "predictions.parquet")["prompt_format"].to_pylist())
    assert formats == {"ceval/official-answer-only-5shot/v1"}

    result = runner.invoke(app, [*args, "--variant", "ceval=5shot"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "--variant 'ceval=5shot': unknown; choose BENCH=NAME from "
        "gpqa_diamond: simple-evals-0shot-cot, lm-eval-cot-0shot; "
        "mmlu_pro: official-cot-0shot, official-cot-5shot, lm-eval-cot-5shot, lm-eval-cot-0shot; "
        "ceval: official-answer-only-0shot, official-answer-only-5shot, official-cot-5shot; "
        "supergpqa: official-zero-shot, official-zero-shot-with-subfield"
    )


def test_every_variant_has_its_extractor():
    from rlev_cli.evaluate.benchmarks import Item, extract_answer

    responses = {  # one answer each variant's extractor reads as C
        "mmlu_pro/official-cot-0shot": "the answer is (C)",
        "mmlu_pro/official-cot-5shot": "Answer: C",
        "mmlu_pro/lm-eval-cot-5shot": "So the answer is C.",
        "mmlu_pro/lm-eval-cot-0shot": "So the answer is (C).",
        "ceval/official-answer-only-0shot": "答案：C",
        "ceval/official-answer-only-5shot": "C",
        "ceval/official-cot-5shot": "所以答案是C。",
        "supergpqa/official-zero-shot": "Answer: C",
        "supergpqa/official-zero-shot-with-subfield": "The answer is C.",
        "gpqa_diamond/simple-evals-0shot-cot": "Answer: C",
        "gpqa_diamond/lm-eval-cot-0shot": "(C)",
    }
    assert sorted(responses) == sorted(f"{b}/{n}" for b, names in VARIANTS.items() for n in names)
    for name, response in responses.items():
        item = Item(name.split("/")[0], "x", [], "C", options=["a", "b", "c"], prompt_format=f"{name}/v1")
        assert extract_answer(item, response)[0] == "C", name


def test_few_shot_variants_fetch_the_exemplar_splits_from_the_hub(monkeypatch, tmp_path):
    from rlev_cli.evaluate.benchmarks import ceval, registry

    calls = []

    def fake_hub(benchmark, config=None, split=None):
        calls.append((benchmark, config, split))
        if benchmark == "ceval":
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in CEVAL_ROWS if r["_split"] == split]
        return MMLU_ROWS[:1] if split is None else []

    monkeypatch.setattr(registry, "load_hub", fake_hub)
    monkeypatch.setattr(ceval, "CEVAL_SUBJECTS", {"computer_network": "计算机网络"})
    items, _ = load_items("ceval", None, 0, "val", "official-cot-5shot")
    assert calls == [("ceval", "computer_network", "val"), ("ceval", "computer_network", "dev")]
    assert len(items) == 15 and len(items[0].messages) == 12
    with pytest.raises(RlevError, match="no validation rows for biology"):
        load_items("mmlu_pro", None, 0, "val", "official-cot-5shot")
    assert calls[2:] == [("mmlu_pro", None, None), ("mmlu_pro", None, "validation")]
    with pytest.raises(RlevError, match="no validation rows for biology"):  # no local file: the hub for both
        load_items("mmlu_pro", tmp_path, 0, "val", "official-cot-5shot")
    assert calls[4:] == [("mmlu_pro", None, None), ("mmlu_pro", None, "validation")]
