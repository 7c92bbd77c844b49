"""#9: the RLEV release (chat-template records, splits and languages as released), from files or hf://."""

from __future__ import annotations

import json
import shutil

from rlev_cli.prompts import SYSTEM_PROMPT
from tests.conftest import EXAMPLES
from tests.ingest.cli import outputs, rlev_ingest

RELEASE = EXAMPLES / "rlev_release"
SYSTEM_ZH = (
    "你是一个能解决问题的助手。请解答下面的题目并给出思考过程。"
    "在给出最终结果之前，先输出“所以答案是”，然后给出最终答案。"
)


def _counts(questions, key):
    counts: dict = {}
    for q in questions:
        counts[q[key]] = counts.get(q[key], 0) + 1
    return counts


def _check_release(questions, rejects, manifest):
    assert rejects == [] and len(questions) == 22
    assert _counts(questions, "split") == {"train": 16, "test": 6}
    assert _counts(questions, "language") == {"en": 11, "zh": 11}
    assert {(q["language"], q["system_prompt"]) for q in questions} == {("en", SYSTEM_PROMPT), ("zh", SYSTEM_ZH)}
    first = next(q for q in questions if q["question"].startswith("Let f(x)"))
    assert first["question"] == "Let f(x) = x^2 - 4x + 3. Find the minimum value of f(x) on the real line."
    assert (first["answer"], first["score"], first["total"], first["value"]) == ("-1", 5.0, 150.0, 5 / 150)
    # No exam ids in the release: every record is its own exam, never one exam per file.
    assert len({q["exam_id"] for q in questions}) == 22 and manifest["counts"]["exams"] == 22
    assert manifest["split"]["method"] == "as released" and manifest["split"]["drawn"] == 0
    assert manifest["split"]["unit"] == "record (no exam id in the input: each record is its own exam)"
    assert manifest["exams"] == [] and manifest["warnings"] == []  # no paper to report coverage for


def test_release_files_keep_their_splits_languages_and_system_prompts(workspace):
    run = rlev_ingest(RELEASE, "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    _check_release(questions, rejects, manifest)
    assert manifest["split"]["released_from"] == {"file names": 22}
    assert sorted(q["source"] for q in questions if q["split"] == "test" and q["language"] == "en") == [
        f"{RELEASE}/en/test.json#[{i}]" for i in (0, 1, 2)
    ]
    summary = run.summary()
    assert (summary["train"], summary["test"], summary["formats"]) == (16, 6, {"rlev": 4})


def test_release_through_datasets_load_dataset_all_configs_and_splits(workspace, tmp_path):
    local = tmp_path / "RLEV"
    shutil.copytree(RELEASE, local)
    run = rlev_ingest(f"hf://{local}", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    _check_release(questions, rejects, manifest)
    assert manifest["split"]["released_from"] == {"hub splits": 22}
    assert [entry["path"] for entry in manifest["inputs"]] == [
        f"hf://{local}/en/train",
        f"hf://{local}/en/test",
        f"hf://{local}/zh/train",
        f"hf://{local}/zh/test",
    ]
    assert [entry["records"] for entry in manifest["inputs"]] == [8, 3, 8, 3]
    assert sorted(q["source"] for q in questions if q["split"] == "test" and q["language"] == "en") == [
        f"hf://{local}/en/test#row {i}" for i in (1, 2, 3)
    ]


def test_hub_dataset_that_cannot_be_opened_is_one_error(workspace, tmp_path):
    run = rlev_ingest(f"hf://{tmp_path / 'nowhere'}", "-w", workspace)
    assert run.exit_code == 1 and run.error.startswith(f"Error: hf://{tmp_path / 'nowhere'}: cannot open the dataset (")


def test_multi_turn_and_unknown_roles_are_refused_with_the_reason(workspace, tmp_path):
    system = {"role": "system", "content": "Be brief."}
    rows = [
        {"query": [system, {"role": "user", "content": "1+1=?"}], "label": "2", "score": 5, "total": 100},
        {"query": [{"role": "user", "content": "2+2=?"}], "label": "4", "score": 5, "total": 100},
        {
            "query": [
                system,
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"},
            ],
            "label": "3",
            "score": 5,
            "total": 100,
        },
        {
            "query": [{"role": "tool", "content": "x"}, {"role": "user", "content": "3+3=?"}],
            "label": "6",
            "score": 5,
            "total": 100,
        },
        {"query": [], "label": "6", "score": 5, "total": 100},
    ]
    (tmp_path / "chat.json").write_text(json.dumps(rows))
    run = rlev_ingest(tmp_path / "chat.json", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, _ = outputs(workspace)
    assert [(q["question"], q["system_prompt"]) for q in questions] == [("1+1=?", "Be brief."), ("2+2=?", None)]
    assert [(r["source"], r["reason"]) for r in rejects] == [
        (
            "chat.json#[2]",
            "'query' is not a single-turn prompt (roles: system, user, assistant, user); "
            "expected [system, user] or [user]",
        ),
        (
            "chat.json#[3]",
            "'query' has a message with unknown role 'tool' (roles: tool, user); expected [system, user] or [user]",
        ),
        ("chat.json#[4]", "'query' is missing or an empty message list"),
    ]


def test_openrlhf_style_files_with_map_and_string_or_message_prompts(workspace, tmp_path):
    lines = [
        {"input": "What is 3*4?", "target": "12", "points": 4, "full": 40, "paper": "quiz"},
        {
            "input": [{"role": "user", "content": "What is 5*5?"}],
            "target": "25",
            "points": 6,
            "full": 40,
            "paper": "quiz",
        },
        {
            "input": json.dumps([{"role": "system", "content": "Think."}, {"role": "user", "content": "What is 7-2?"}]),
            "target": "5",
            "points": 30,
            "full": 40,
            "paper": "quiz",
        },
    ]
    path = tmp_path / "openrlhf.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    run = rlev_ingest(
        path,
        "--map",
        "question=input",
        "--map",
        "answer=target",
        "--map",
        "score=points",
        "--map",
        "total=full",
        "--map",
        "exam_id=paper",
        "--test-fraction",
        "0",
        "-w",
        workspace,
    )
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    assert rejects == []
    assert [(q["question"], q["system_prompt"], q["value"], q["language"]) for q in questions] == [
        ("What is 3*4?", None, 0.1, "en"),
        ("What is 5*5?", None, 0.15, "en"),
        ("What is 7-2?", "Think.", 0.75, "en"),
    ]
    assert manifest["split"]["method"] == "drawn by exam" and manifest["split"]["unit"] == "exam"


def test_split_column_is_kept_and_unknown_split_refused(workspace, tmp_path):
    rows = [
        {"query": f"q{i}", "label": "A", "score": 1, "total": 10, "exam_id": f"E{i % 3}", "split": s}
        for i, s in enumerate(["train", "TEST", "validation", "train", "dev", "holdout"])
    ]
    path = tmp_path / "all.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = rlev_ingest(path, "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    assert [q["split"] for q in questions] == ["train", "test", "validation", "train", "validation"]
    assert [(r["source"], r["reason"]) for r in rejects] == [
        ("all.jsonl:6", "'split': split 'holdout' is not train, test or validation")
    ]
    assert manifest["split"]["released_from"] == {"split column": 5} and manifest["split"]["method"] == "as released"
    assert manifest["counts"]["validation"] == 2 and run.summary()["validation"] == 2
    assert "1 exam(s) sit in more than one split as released (e.g. 'E1'); kept as given" in run.summary()["warnings"]


def test_records_without_exam_ids_are_split_by_record_not_collapsed(workspace, tmp_path):
    rows = [{"query": f"question {i}", "label": str(i), "score": 2, "total": 100} for i in range(40)]
    path = tmp_path / "bank.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = rlev_ingest(path, "--test-fraction", "0.25", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    assert manifest["counts"]["exams"] == 40 and _counts(questions, "split") == {"train": 30, "test": 10}
    assert manifest["split"]["method"] == "drawn by exam" and manifest["split"]["records_as_own_exam"] == 40


def test_same_question_in_two_papers_is_kept_in_each_and_split_together(workspace, tmp_path):
    shared = "Find the sum of the roots of x^2 - 5x + 6 = 0."
    rows = []
    for paper, points in (("2021-math-science", 10), ("2021-math-arts", 12)):
        rows.append({"query": shared, "label": "5", "score": points, "total": 150, "exam_id": paper})
        rows += [{"query": f"{paper} q{i}", "label": "1", "score": 5, "total": 150, "exam_id": paper} for i in range(4)]
    rows += [
        {"query": f"other{e} q{i}", "label": "1", "score": 5, "total": 150, "exam_id": f"other{e}"}
        for e in range(8)
        for i in range(5)
    ]
    rows.append(
        {"query": shared, "label": "5", "score": 10, "total": 150, "exam_id": "2021-math-science"}
    )  # a true duplicate
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for seed in range(6):
        run = rlev_ingest(path, "--seed", str(seed), "--test-fraction", "0.3", "-w", workspace)
        assert run.exit_code == 0, run.stderr
        questions, rejects, manifest = outputs(workspace)
        copies = [q for q in questions if q["question"] == shared]
        assert sorted((q["exam_id"], q["score"], q["value"]) for q in copies) == [
            ("2021-math-arts", 12.0, 12 / 150),
            ("2021-math-science", 10.0, 10 / 150),
        ]
        assert len({q["id"] for q in questions}) == len(questions) == 50
        assert len({q["split"] for q in questions if q["exam_id"].startswith("2021-math")}) == 1
        science = next(q["id"] for q in copies if q["exam_id"] == "2021-math-science")
        assert [r["reason"] for r in rejects] == [f"duplicate of {science} (same question and answer)"]
        assert manifest["shared_questions"]["questions"] == 1 and manifest["shared_questions"]["rows"] == 2
        assert manifest["shared_questions"]["examples"] == [
            {"question": shared, "exams": ["2021-math-science", "2021-math-arts"]}
        ]


def test_shared_question_across_released_splits_is_kept_and_reported(workspace, tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    row = {"query": "Name the largest planet.", "label": "Jupiter", "total": 100}
    (tmp_path / "train" / "a.jsonl").write_text(json.dumps({**row, "score": 4, "exam_id": "paper-a"}) + "\n")
    (tmp_path / "test" / "b.jsonl").write_text(json.dumps({**row, "score": 6, "exam_id": "paper-b"}) + "\n")
    run = rlev_ingest(tmp_path, "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, _, _ = outputs(workspace)
    assert sorted((q["exam_id"], q["split"], q["score"]) for q in questions) == [
        ("paper-a", "train", 4.0),
        ("paper-b", "test", 6.0),
    ]
    assert run.summary()["warnings"] == [
        "2 exam(s) cover less than 50% of their total (incomplete papers: values stay points / official total)",
        "1 question(s) are shared by papers in different released splits (e.g. 'paper-b' and 'paper-a'); "
        "kept as released",
    ]
