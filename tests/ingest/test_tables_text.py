from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.ingest.helpers import ingest


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_rlev_native_jsonl_and_json_list(workspace, tmp_path):
    rows = [
        {"query": "1+1=?", "label": "2", "score": 3, "total": 150},
        {"query": "Pick one", "label": "B", "score": "7.5", "total": "150"},
    ]
    write_jsonl(tmp_path / "paper.jsonl", rows)
    (tmp_path / "paper2.json").write_text(json.dumps([{"query": "x?", "label": "x", "score": 0, "total": 10}]))
    result, questions, rejects, _ = ingest([tmp_path / "paper.jsonl", tmp_path / "paper2.json"], workspace)
    assert result.formats == {"rlev": 2} and rejects == []
    # No exam id but a total per record: each record is its own exam (#9), never one exam per file.
    assert [(q["exam_id"], q["value"], q["qtype"]) for q in questions] == [
        ("paper.jsonl:1", 3 / 150, "numeric"),
        ("paper.jsonl:2", 0.05, "single_choice"),
        ("paper2.json#[0]", 0.0, "fill_blank"),
    ]
    assert questions[2]["flags"] == ["zero_points"] and questions[0]["total_source"] == "record"


def test_strict_number_parsing_rejects_units_ranges_booleans(workspace, tmp_path):
    rows = [
        {"query": f"q{i}", "label": "A", "score": s, "total": 100}
        for i, s in enumerate(["3分", "2-3", True, "", "４", None, float("nan")])
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    _, questions, rejects, manifest = ingest([path], workspace)
    reasons = {r["source"]: r["reason"] for r in rejects}
    assert reasons["p.jsonl:1"] == "'score': '3分' is not a number"
    assert reasons["p.jsonl:2"] == "'score': '2-3' is not a number"
    assert reasons["p.jsonl:3"] == "'score': 'true' is not a number"
    assert "no points in the record" in reasons["p.jsonl:4"]
    assert [q["score"] for q in questions] == [4.0]  # full-width digit, NFKC
    assert manifest["counts"]["records_in"] == 7 == len(questions) + len(rejects)


def test_csv_with_map_and_file_stem_exam(workspace, tmp_path):
    path = tmp_path / "midterm.csv"
    path.write_text('problem,gold,pts\n"What is 2+2?",4,5\nName the capital,Paris,5 marks\n', encoding="utf-8-sig")
    _, questions, rejects, _ = ingest(
        [path], workspace, field_map={"question": "problem", "answer": "gold", "score": "pts"}, total=20
    )
    assert [(q["exam_id"], q["value"], q["total_source"]) for q in questions] == [("midterm", 0.25, "flag")]
    assert rejects[0]["source"] == "midterm.csv:3" and rejects[0]["reason"] == "'pts': '5 marks' is not a number"


def test_parquet_with_exam_column(workspace, tmp_path):
    table = pa.table(
        {
            "question": ["a?", "b?", "c?"],
            "answer": ["1", "2", "3"],
            "points": [1.0, 2.0, 3.0],
            "paper": ["P1", "P1", "P2"],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    _, questions, _, _ = ingest([tmp_path / "t.parquet"], workspace, total_from_sum=True)
    assert [(q["exam_id"], q["total"], q["total_source"]) for q in questions] == [
        ("P1", 3.0, "sum"),
        ("P1", 3.0, "sum"),
        ("P2", 3.0, "sum"),
    ]


def test_no_total_is_rejected_never_guessed(workspace, tmp_path):
    write_jsonl(tmp_path / "p.jsonl", [{"question": "q", "answer": "a", "score": 2}])
    (tmp_path / "ok.jsonl").write_text('{"question": "r", "answer": "b", "score": 2, "total": 10}\n')
    _, questions, rejects, _ = ingest([tmp_path / "p.jsonl", tmp_path / "ok.jsonl"], workspace)
    assert len(questions) == 1
    assert rejects[0]["reason"].startswith("exam 'p' has no total: pass --totals FILE or --total N")


def test_points_above_total_zero_total_negative(workspace, tmp_path):
    write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"query": "a", "label": "1", "score": 20, "total": 10},
            {"query": "b", "label": "1", "score": 1, "total": 0},
            {"query": "c", "label": "1", "score": -1, "total": 10},
            {"query": "d", "label": "1", "score": 1, "total": 10},
        ],
    )
    _, _, rejects, _ = ingest([tmp_path / "p.jsonl"], workspace)
    assert [r["reason"] for r in rejects] == [
        "points 20 exceed the exam total 10",
        "total 0 of exam 'p.jsonl:2' must be > 0",
        "negative points -1",
    ]


def test_duplicates_kept_once(workspace, tmp_path):
    write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"query": "Same  question", "label": "A", "score": 1, "total": 10},
            {"query": "Same question", "label": "A", "score": 2, "total": 10},
        ],
    )
    _, questions, rejects, _ = ingest([tmp_path / "p.jsonl"], workspace)
    assert len(questions) == 1 and rejects[0]["duplicate_of"] == questions[0]["id"]
    assert rejects[0]["reason"] == f"duplicate of {questions[0]['id']} (same question and answer)"


def test_malformed_lines_and_garbage_files(workspace, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"query": "a", "label": "1", "score": 1, "total": 10}\n{"query": oops\n\n[1]\n')
    (tmp_path / "bin.json").write_bytes(b"\x00\x01\x02garbage")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "bad.yaml").write_text("exam_id: x\nquestions: [\n")
    (tmp_path / "odd.json").write_text('{"a": 1}')
    _result, questions, rejects, manifest = ingest([tmp_path], workspace, skip_unreadable=True)
    reasons = {r["source"].split("/")[-1]: r["reason"] for r in rejects}
    assert reasons["p.jsonl:2"].startswith("malformed JSON: Expecting value")
    assert reasons["p.jsonl:4"] == "line is a JSON list, not an object"
    assert reasons["bin.json"] == "binary file (NUL bytes), not text"
    assert reasons["empty.json"] == "empty file"
    assert reasons["bad.yaml"].startswith("malformed YAML at line")
    assert reasons["odd.json"].startswith("unknown structure")
    assert len(questions) == 1 and manifest["counts"]["records_in"] == 7


def test_gb18030_text_paper_with_answer_key(workspace, tmp_path):
    paper = (
        "# 期中考试\n满分100分\n一、选择题：本题共2小题，每小题5分，共10分\n1. 1+1=?\nA. 1\nB. 2\n"
        "2．下列正确的是\nA. 甲\nB. 乙\n二、解答题\n3. 求x（10分）\n\n参考答案\n1. B\n2. A\n3. 4\n"
    )
    (tmp_path / "mid.txt").write_bytes(paper.encode("gb18030"))
    _, questions, rejects, _ = ingest([tmp_path / "mid.txt"], workspace)
    assert rejects == []
    assert [(q["exam_id"], q["score"], q["answer"], q["qtype"], q["value"]) for q in questions] == [
        ("期中考试", 5.0, "B", "single_choice", 0.05),
        ("期中考试", 5.0, "A", "single_choice", 0.05),
        ("期中考试", 10.0, "4", "numeric", 0.1),
    ]
    assert questions[0]["options"] == ["1", "2"]


def test_english_text_paper_with_answer_file(workspace, tmp_path):
    (tmp_path / "quiz.md").write_text(
        "Total: 20 points\n\n## Part I (2 points each)\n1) Capital of France?\n"
        "2) 3 x 3 = ?\n\n## Part II\n3. Explain gravity. [16 marks]\n4. No points here\n",
        encoding="utf-8",
    )
    (tmp_path / "quiz.answers.txt").write_text("1. Paris\n2. 9\n3. Mass attracts mass.\n4. x\n")
    _, questions, rejects, _ = ingest([tmp_path], workspace)
    assert [(q["score"], q["answer"]) for q in questions] == [(2.0, "Paris"), (2.0, "9"), (16.0, "Mass attracts mass.")]
    assert len(rejects) == 1 and rejects[0]["reason"].startswith("no points")


def test_split_by_exam_deterministic(workspace, tmp_path):
    rows = [{"query": f"q{i}", "label": "A", "score": 1, "total": 10, "exam_id": f"E{i % 10}"} for i in range(100)]
    write_jsonl(tmp_path / "p.jsonl", rows)
    _, first, _, _ = ingest([tmp_path / "p.jsonl"], workspace, test_fraction=0.2, seed=3)
    _, again, _, _ = ingest([tmp_path / "p.jsonl"], tmp_path / "b", test_fraction=0.2, seed=3)
    assert [q["split"] for q in first] == [q["split"] for q in again]
    test_exams = {q["exam_id"] for q in first if q["split"] == "test"}
    assert len(test_exams) == 2 and not test_exams & {q["exam_id"] for q in first if q["split"] == "train"}
    _, other, _, _ = ingest([tmp_path / "p.jsonl"], tmp_path / "c", test_fraction=0.2, seed=4)
    assert {q["exam_id"] for q in other if q["split"] == "test"} != test_exams


def test_duplicate_keys_normalize_width_and_whitespace_in_both_halves():
    from rlev_cli.ingest.ids import normalized_pair

    # The first half is all ASCII (NFKC skipped), the second is not.
    question = pa.chunked_array(
        [["Plain  ASCII\ttext ", "x\r\n\n y"], ["\u3000全角ＡＢＣ１２３\u3000", "ｆ(ｘ)＝ｘ²", "no change"]]
    )
    answer = pa.chunked_array([[" Ａ ", "B", "12", "\u00a05\u00a0", "C"]])
    questions, answers = normalized_pair(question, answer)
    assert questions.to_pylist() == ["Plain ASCII text", "x y", "全角ABC123", "f(x)=x2", "no change"]
    assert answers.to_pylist() == ["A", "B", "12", "5", "C"]
