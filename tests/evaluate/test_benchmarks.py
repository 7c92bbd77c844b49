"""Prompts and extractors follow each benchmark's official convention; fixture rows scored end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.evaluate.benchmarks import (
    extract_ceval,
    extract_gpqa,
    extract_mmlu_pro,
    extract_supergpqa,
    gpqa_item,
    gpqa_permutation,
    load_items,
)
from tests.conftest import OOD

runner = CliRunner()
SYNTHETIC_GPQA = {
    "Question": "SYNTHETIC TEST ITEM (not from GPQA): what is 2 + 2?",
    "Correct Answer": "4",
    "Incorrect Answer 1": "3",
    "Incorrect Answer 2": "5",
    "Incorrect Answer 3": "22",
    "Record ID": "synthetic-0001",
    "High-level domain": "Physics",
    "Subdomain": "synthetic",
    "Canary String": "SYNTHETIC",
}


@pytest.mark.parametrize(
    "response,letter",
    [
        ("The answer is (B).", "B"),
        ("Answer: D", "D"),
        ("I think it is E because", "E"),
        ("The answer is (A). Wait, the answer is (B).", "A"),
        ("no letters here", None),
    ],
)
def test_mmlu_pro_official_sanity_vectors(response, letter):
    assert extract_mmlu_pro(response)[0] == letter


@pytest.mark.parametrize(
    "response,letter",
    [
        ("I pick option J", "I"),
        ("**Answer**: e", "e"),
        ("Answer: $\\boxed{D}$", "D"),
        ("The correct answer is (C).", "C"),
    ],
)
def test_supergpqa_quirks_kept_as_upstream(response, letter):
    assert extract_supergpqa(response)[0] == letter


def test_ceval_and_gpqa_extractors():
    assert extract_ceval("C") == ("C", "first_char")
    assert extract_ceval("经过分析，答案是 B，理由如下。答案是D")[0] == "D"
    assert extract_ceval("无法确定") == (None, "miss")
    assert extract_gpqa("so...\nanswer: b")[0] == "b"  # as simple-evals: case-insensitive, then scored wrong
    assert extract_gpqa("Answer: $B$")[0] == "B"


def test_gpqa_permutation_is_pinned_stable_across_processes_and_recorded():
    # pinned values: random.Random("<seed>:<Record ID>").sample(range(4), 4) over [correct, inc1, inc2, inc3]
    assert gpqa_permutation(0, "synthetic-0001") == [0, 1, 2, 3]
    assert gpqa_permutation(1, "synthetic-0001") == [0, 3, 1, 2]
    other_process = subprocess.run(
        [sys.executable, "-c", PRINT_PERMUTATION],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert other_process.stdout.strip() == "[0, 3, 1, 2]"  # a str seed is hashed with SHA-512, not hash()
    item = gpqa_item(SYNTHETIC_GPQA, seed=1)
    assert item.perm == [0, 3, 1, 2] and item.gold == "A"
    assert item.options == ["4", "22", "3", "5"]
    assert {tuple(gpqa_item(SYNTHETIC_GPQA, seed=s).perm) for s in range(20)} != {tuple(item.perm)}


PRINT_PERMUTATION = (
    "from rlev_cli.evaluate.benchmarks import gpqa_permutation; print(gpqa_permutation(1, 'synthetic-0001'))"
)


def test_fixture_rows_load_with_their_official_ids():
    mmlu, _ = load_items("mmlu_pro", OOD, 0)
    assert len(mmlu) == 20 and mmlu[0].id == "2804"
    leak = next(i for i in mmlu if i.id == "3544")
    assert all(o == o.strip() for o in leak.options)  # the whitespace answer leak is stripped
    ceval, unlabeled = load_items("ceval", OOD, 0)
    assert len(ceval) == 15 and unlabeled == 0  # val rows only: dev rows are exemplars
    assert ceval[0].id == "computer_network/val/0"
    assert [m["role"] for m in ceval[0].messages] == ["system", "user"]  # as chatgpt.py, 0-shot too
    assert (
        ceval[0].messages[0]["content"]
        == "你是一个中文人工智能助手，以下是中国关于计算机网络考试的单项选择题，请选出其中的正确答案。"
    )
    assert (
        ceval[0]
        .messages[1]["content"]
        .startswith("以下是中国关于计算机网络考试的单项选择题，请选出其中的正确答案。\n\n")
    )
    supergpqa, _ = load_items("supergpqa", OOD, 0)
    assert len(supergpqa) == 20 and all(len(i.id) == 32 for i in supergpqa)


def write_responses(path, benchmark, items, right):
    rows = []
    for k, item in enumerate(items):
        letter = item.gold if k in right else ("A" if item.gold != "A" else "B")
        text = {
            "mmlu_pro": f"Let me think.\nthe answer is ({letter})",
            "ceval": f"答案是{letter}",
            "supergpqa": f"Reasoning.\nAnswer: {letter}",
            "gpqa_diamond": f"Reasoning\nAnswer: {letter}",
        }[benchmark]
        rows.append({"benchmark": benchmark, "id": item.id, "response": text, "response_tokens": 10 + k})
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_scoring_given_responses_on_fixture_rows(tmp_path, workspace):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("mmlu_pro", "ceval", "supergpqa"):
        (data / f"{name}.jsonl").write_bytes((OOD / f"{name}.jsonl").read_bytes())
    (data / "gpqa_diamond.jsonl").write_text(json.dumps(SYNTHETIC_GPQA) + "\n")
    # one unlabeled C-Eval row (pre-2025 test split): counted, never scored
    with (data / "ceval.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {
                    "id": 0,
                    "question": "?",
                    "A": "1",
                    "B": "2",
                    "C": "3",
                    "D": "4",
                    "answer": "",
                    "explanation": "",
                    "_config": "law",
                    "_split": "val",
                },
                ensure_ascii=False,
            )
            + "\n"
        )
    responses = tmp_path / "responses.jsonl"
    expected = {"mmlu_pro": set(range(0, 20, 2)), "ceval": {0, 1, 2}, "supergpqa": set(range(5)), "gpqa_diamond": {0}}
    for name, right in expected.items():
        write_responses(responses, name, load_items(name, data, 0)[0], right)
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--responses",
            str(responses),
            "--benchmarks",
            "mmlu_pro,ceval,supergpqa,gpqa_diamond",
            "--data-dir",
            str(data),
            "--out",
            str(tmp_path / "eval"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = {r["benchmark"]: r for r in pq.read_table(tmp_path / "eval" / "summary.parquet").to_pylist()}
    assert summary["mmlu_pro"]["acc"] == 50.0 and summary["mmlu_pro"]["n"] == 20
    assert summary["ceval"]["acc"] == 20.0 and summary["ceval"]["n"] == 15 and summary["ceval"]["n_skipped"] == 1
    assert summary["supergpqa"]["acc"] == 25.0
    assert summary["gpqa_diamond"]["acc"] == 100.0
    predictions = pq.read_table(tmp_path / "eval" / "predictions.parquet").to_pylist()
    gpqa = next(p for p in predictions if p["benchmark"] == "gpqa_diamond")
    assert gpqa["perm"] == [0, 1, 2, 3] and gpqa["gold"] == "A"
    assert gpqa["prompt_format"] == "gpqa_diamond/simple-evals-0shot-cot/v1"
    formats = {p["benchmark"]: p["prompt_format"] for p in predictions}
    assert formats["mmlu_pro"] == "mmlu_pro/official-cot-0shot/v2"  # v2: the official header spacing
    assert formats["ceval"] == "ceval/official-answer-only-0shot/v1"
    assert formats["supergpqa"] == "supergpqa/official-zero-shot/v1"
    assert json.loads(result.stdout)["unlabeled_skipped"]["ceval"] == 1


def test_responses_that_match_no_item_are_an_error(tmp_path, workspace):
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"benchmark": "mmlu_pro", "id": "999999", "response": "x"}) + "\n")
    result = runner.invoke(
        app, ["evaluate", "--responses", str(responses), "--benchmarks", "mmlu_pro", "--data-dir", str(OOD)]
    )
    assert result.exit_code == 1
    assert "1 response(s) match no item of the selected benchmarks, e.g. mmlu_pro id '999999'" in str(result.exception)


def test_unknown_benchmark_and_missing_run(tmp_path, workspace):
    result = runner.invoke(app, ["evaluate", "--benchmarks", "mmlu"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "--benchmarks: unknown mmlu; choose from indomain, gpqa_diamond, mmlu_pro, ceval, supergpqa or all"
    )
    result = runner.invoke(app, ["evaluate", str(tmp_path / "run")])  # a typo: not "no model/ folder"
    assert result.exit_code == 1 and str(result.exception) == (
        f"{tmp_path / 'run'}: no such run folder (pass a folder `rlev train` wrote, or --model for a model)"
    )
    (tmp_path / "run").mkdir()
    result = runner.invoke(app, ["evaluate", str(tmp_path / "run")])
    assert result.exit_code == 1 and "no model/ folder" in str(result.exception)
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 1 and "no run in" in str(result.exception)


def test_indomain_prompt_follows_the_system_prompt_the_run_trained_with():
    from rlev_cli.evaluate.benchmarks import Item, user
    from rlev_cli.evaluate.core import Target, for_target
    from rlev_cli.prompts import SYSTEM_PROMPT

    items = {
        "indomain": [Item("indomain", "q1", user("1+1?", SYSTEM_PROMPT), "2")],
        "mmlu_pro": [Item("mmlu_pro", "7", user("x"), "A")],
    }
    assert for_target(items, Target("base", "m", None)) is items
    custom = for_target(items, Target("run", "m", None, "Answer briefly."))
    assert custom["indomain"][0].messages == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "1+1?"},
    ]
    assert custom["mmlu_pro"] is items["mmlu_pro"]
