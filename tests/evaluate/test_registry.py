"""The benchmark registry: one module per benchmark, found by scanning the package; hub and local loading.

The worked example of docs/evaluation.md (tests/evaluate/arc_challenge.py) is dropped into the package
folder here, unchanged, and runs through `rlev evaluate` like the four built-in benchmarks."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import rlev_cli.evaluate.benchmarks as package
from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks import Benchmark, Hub, Variant, extract_answer, load_items, registry
from tests.conftest import EXAMPLES, OOD

runner = CliRunner()
ARC_ROWS = [  # SYNTHETIC rows in the allenai/ai2_arc schema (one with numeric labels, as some real rows have)
    {
        "id": "SYNTHETIC-1",
        "question": "Which is a gas at room temperature?",
        "choices": {"text": ["iron", "oxygen", "salt", "wood"], "label": ["A", "B", "C", "D"]},
        "answerKey": "B",
    },
    {
        "id": "SYNTHETIC-2",
        "question": "How many legs does an insect have?",
        "choices": {"text": ["4", "6", "8"], "label": ["1", "2", "3"]},
        "answerKey": "2",
    },
]


@pytest.fixture
def arc_in_package(tmp_path, monkeypatch):
    """arc_challenge.py as one more file of rlev_cli/evaluate/benchmarks/ (a second folder of the package)."""
    folder = tmp_path / "more_benchmarks"
    folder.mkdir()
    shutil.copy(Path(__file__).with_name("arc_challenge.py"), folder / "arc_challenge.py")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    monkeypatch.setattr(registry, "_BENCHMARKS", None)  # scan again, with the new file
    yield folder
    sys.modules.pop("rlev_cli.evaluate.benchmarks.arc_challenge", None)


def test_the_four_benchmarks_and_their_order():
    assert package.OOD == ("gpqa_diamond", "mmlu_pro", "ceval", "supergpqa")
    assert package.ALL == ("indomain", "gpqa_diamond", "mmlu_pro", "ceval", "supergpqa")
    assert package.HUB == {
        "gpqa_diamond": ("Idavidrein/gpqa", "gpqa_diamond", "train"),
        "mmlu_pro": ("TIGER-Lab/MMLU-Pro", None, "test"),
        "ceval": ("ceval/ceval-exam", None, "val"),
        "supergpqa": ("m-a-p/SuperGPQA", None, "train"),
    }
    with pytest.raises(RlevError, match=r"^unknown benchmark 'mmlu'$"):
        load_items("mmlu", OOD, 0)
    with pytest.raises(RlevError, match=r"^mmlu_pro: unknown prompt variant '5shot'; choose from official-cot-0shot,"):
        load_items("mmlu_pro", OOD, 0, variant="5shot")


def test_a_new_file_in_the_package_is_a_benchmark_end_to_end(arc_in_package, tmp_path, workspace):
    assert package.OOD[-1] == "arc_challenge" and package.ALL[-1] == "arc_challenge"  # order 100: after the four
    assert package.VARIANTS["arc_challenge"] == ("answer-line-0shot",)
    data = tmp_path / "data"
    data.mkdir()
    (data / "arc_challenge.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ARC_ROWS), "utf-8")
    items, unlabeled = load_items("arc_challenge", data, 0)
    assert [(i.id, i.gold, i.prompt_format) for i in items] == [
        ("SYNTHETIC-1", "B", "arc_challenge/answer-line-0shot/v1"),
        ("SYNTHETIC-2", "B", "arc_challenge/answer-line-0shot/v1"),
    ]
    assert unlabeled == 0 and items[1].messages[-1]["content"].endswith("\n\nA) 4\nB) 6\nC) 8")
    assert extract_answer(items[0], "Answer: A ... no. Answer: (B)") == ("B", "answer_line")

    responses = tmp_path / "responses.jsonl"
    answers = {"SYNTHETIC-1": "Oxygen.\nAnswer: B", "SYNTHETIC-2": "Eight.\nAnswer: C"}
    responses.write_text(
        "".join(json.dumps({"benchmark": "arc_challenge", "id": k, "response": v}) + "\n" for k, v in answers.items())
    )
    args = ["evaluate", "--responses", str(responses), "--benchmarks", "arc_challenge", "--data-dir", str(data)]
    result = runner.invoke(app, [*args, "--variant", "arc_challenge=answer-line-0shot", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    (summary,) = pq.read_table(tmp_path / "out" / "summary.parquet").to_pylist()
    assert (summary["benchmark"], summary["n"], summary["acc"]) == ("arc_challenge", 2, 50.0)
    predictions = pq.read_table(tmp_path / "out" / "predictions.parquet").to_pylist()
    assert [(p["extracted"], p["correct"]) for p in predictions] == [("B", True), ("C", False)]


def test_the_hub_is_loaded_with_each_declared_id_config_and_split(arc_in_package, monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return ARC_ROWS if path == "allenai/ai2_arc" else []

    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset)
    assert [i.id for i in load_items("arc_challenge", None, 0)[0]] == ["SYNTHETIC-1", "SYNTHETIC-2"]
    for name in ("gpqa_diamond", "mmlu_pro", "supergpqa"):
        assert load_items(name, None, 0) == ([], 0)
    assert calls == [
        ("allenai/ai2_arc", "ARC-Challenge", "test"),
        ("Idavidrein/gpqa", "gpqa_diamond", "train"),
        ("TIGER-Lab/MMLU-Pro", None, "test"),
        ("m-a-p/SuperGPQA", None, "train"),
    ]
    calls.clear()
    assert load_items("ceval", None, 0, "val", "official-answer-only-5shot") == ([], 0)
    assert len(calls) == 2 * 52 and calls[:2] == [
        ("ceval/ceval-exam", "computer_network", "val"),
        ("ceval/ceval-exam", "computer_network", "dev"),
    ]

    def offline(path, name=None, split=None):
        raise ConnectionError("no network")

    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(RlevError) as err:
        load_items("mmlu_pro", None, 0)
    assert str(err.value) == (
        "mmlu_pro: cannot load TIGER-Lab/MMLU-Pro from the Hugging Face Hub (ConnectionError); "
        "pass --data-dir DIR with mmlu_pro.jsonl in the hub schema"
    )


def test_a_benchmark_name_is_declared_once(monkeypatch):
    monkeypatch.setattr(registry, "_BENCHMARKS", None)
    twin = Benchmark("mmlu_pro", Hub("x/y", None, "test"), lambda *a: ([], 0), (Variant("v", lambda r, o: (None, "")),))
    with pytest.raises(RlevError, match=r"^benchmark 'mmlu_pro' is declared twice$"):
        registry.register(twin)
    extra = registry.register(Benchmark("extra", twin.hub, twin.load, twin.variants, order=5))
    assert package.OOD == ("extra", "gpqa_diamond", "mmlu_pro", "ceval", "supergpqa")
    assert registry.get("extra") is extra


def test_the_repository_examples_load(tmp_path):
    mmlu, _ = load_items("mmlu_pro", EXAMPLES / "ood", 0)
    supergpqa, _ = load_items("supergpqa", EXAMPLES / "ood", 0)
    assert (len(mmlu), mmlu[0].id, mmlu[0].gold) == (20, "2804", "B")
    assert len(supergpqa) == 20 and {i.gold for i in supergpqa} <= set("ABCDEFGHIJ")
    (tmp_path / "ceval.jsonl").write_text('{"id": 1, "question": "?", "A": "1", "B": "2", "C": "3", "D": "4"}\n')
    with pytest.raises(RlevError, match=r"^ceval rows from --data-dir need '_config' \(the subject\) and '_split'$"):
        load_items("ceval", tmp_path, 0)
    (tmp_path / "mmlu_pro.jsonl").write_text('{"question_id": 1, "question": "?"}\n')
    with pytest.raises(RlevError, match=r"^mmlu_pro: rows lack the hub column 'options'; keep the hub schema$"):
        load_items("mmlu_pro", tmp_path, 0)


def test_the_docs_show_the_tested_example():
    """docs/evaluation.md "Adding a benchmark" shows arc_challenge.py whole: the page cannot drift from it."""
    page = (Path(__file__).parents[2] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    shown = page.split("## Adding a benchmark", 1)[1].split("```python\n", 1)[1].split("\n```", 1)[0]
    assert shown == Path(__file__).with_name("arc_challenge.py").read_text(encoding="utf-8").rstrip("\n")
