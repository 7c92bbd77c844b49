from __future__ import annotations

from tests.conftest import EXAMS
from tests.ingest.helpers import ingest

GAOKAO = EXAMS / "gaokao_bench"
UPDATES = EXAMS / "gaokao_bench_updates"


def by_source(questions, needle):
    return [q for q in questions if needle in q["source"]]


def test_reading_item_points_are_per_slot(workspace):
    _, questions, rejects, _ = ingest([GAOKAO / "2010-2022_English_Reading_Comp.json"], workspace)
    assert rejects == []
    item = by_source(questions, "#example[1]")[0]  # upstream index 113: 4 slots x 2 points
    assert (item["n_slots"], item["score"], item["total"]) == (4, 8.0, 150.0)
    assert item["value"] == 8 / 150
    assert item["answer"] == "D,C,A,D"
    assert item["exam_id"] == "gaokao-2021-解析版-英语"
    assert "exam_id_suspect" in item["flags"]


def test_fill_in_blanks_float_slot_score(workspace):
    _, questions, _, _ = ingest([GAOKAO / "2010-2022_English_Fill_in_Blanks.json"], workspace)
    assert [q["score"] for q in questions] == [30.0, 30.0, 30.0]  # 20 slots x 1.5
    assert {q["value"] for q in questions} == {30 / 150}


def test_multi_letter_answer_is_one_slot(workspace):
    _, questions, _, _ = ingest([GAOKAO / "2010-2022_Physics_MCQs.json"], workspace)
    first = by_source(questions, "#example[0]")[0]
    assert (first["qtype"], first["answer"], first["score"], first["total"]) == ("multi_choice", "ABD", 6.0, 300.0)
    assert first["exam_id"] == "gaokao-2011-新课标-理综"
    assert len({q["exam_id"] for q in questions}) == 5


def test_subjective_points_per_item_and_qtypes(workspace):
    _, questions, _, _ = ingest(
        [GAOKAO / "2010-2022_Math_I_Open-ended_Questions.json", GAOKAO / "2010-2022_Math_I_Fill-in-the-Blank.json"],
        workspace,
    )
    open_ended = [q for q in questions if q["qtype"] == "free_form"]
    assert len(open_ended) == 15
    assert sorted({q["score"] for q in open_ended}) == [10.0, 12.0]  # never len() of the answer text
    fill = [q for q in questions if q["qtype"] in ("fill_blank", "numeric")]
    assert sorted(q["answer"] for q in fill if q["qtype"] == "numeric") == ["3", "8"]
    assert {q["exam_id"] for q in questions} == {
        "gaokao-2010-新课标-数学理",
        "gaokao-2021-全国甲卷-数学理",
        "gaokao-2022-全国乙卷-数学理",
    }


def test_one_paper_one_exam_id_whatever_the_spelling(workspace):
    _, questions, _, manifest = ingest([UPDATES / "2024_Math_MCQs.json"], workspace)
    exams = sorted({q["exam_id"] for q in questions})
    assert exams == ["gaokao-2024-全国甲卷-数学理", "gaokao-2024-新课标i-数学", "gaokao-2024-新课标ii-数学"]
    new_i = [q for q in questions if q["exam_id"] == "gaokao-2024-新课标i-数学"]
    assert len(new_i) == 10  # indices 22 ('新课标 I '), 23 ('新课标 I') and 24-31 ('新课标I')
    assert manifest["counts"] == {
        "records_in": 32,
        "questions": 32,
        "rejects": 0,
        "exams": 3,
        "train": manifest["counts"]["train"],
        "test": manifest["counts"]["test"],
        "validation": 0,
    }


def test_year_as_int_is_the_same_paper_and_flagged(workspace):
    _, questions, _, _ = ingest([UPDATES / "2023_Physics_MCQs.json"], workspace)
    jia = [q for q in questions if q["exam_id"] == "gaokao-2023-全国甲卷-理综"]
    assert len(jia) == 4
    assert sum("year_type_mixed" in q["flags"] for q in questions) == 2


def test_history_combined_paper_and_in_text_mismatch(workspace):
    _, questions, _, manifest = ingest([GAOKAO / "2010-2022_History_MCQs.json"], workspace)
    assert {q["exam_id"] for q in questions} == {"gaokao-2011-新课标-文综", "gaokao-2021-全国甲卷-文综"}
    assert {q["value"] for q in questions} == {4 / 300}
    mismatches = manifest["in_text_points_mismatch"]
    assert len(mismatches) == 9
    assert {(m["field_points"], m["text_points"]) for m in mismatches} == {(4.0, 2.0)}
    assert sum("in_text_points_mismatch" in q["flags"] for q in questions) == 9


def test_section_header_points_are_not_the_item_points(workspace):
    _, questions, _, manifest = ingest([GAOKAO / "2010-2022_Chinese_Modern_Lit.json"], workspace)
    assert manifest["in_text_points_mismatch"] == []  # "一、现代文阅读（ 35分）" is skipped, "（ 9分）" = 3 x 3
    assert [q["score"] for q in questions] == [9.0] * 4


def test_known_total_overridden_by_totals_file(workspace, tmp_path):
    totals = tmp_path / "totals.csv"
    totals.write_text("exam_id,total\ngaokao-2011-新课标-文综,100\n", encoding="utf-8")
    _, questions, _, _ = ingest([GAOKAO / "2010-2022_History_MCQs.json"], workspace, totals=totals)
    overridden = [q for q in questions if q["exam_id"] == "gaokao-2011-新课标-文综"]
    assert {(q["total"], q["total_source"], q["value"]) for q in overridden} == {(100.0, "totals", 0.04)}
    other = [q for q in questions if q["exam_id"] != "gaokao-2011-新课标-文综"]
    assert {q["total_source"] for q in other} == {"known"}


def test_ids_are_stable_and_unique(workspace, tmp_path):
    _, first, _, _ = ingest([GAOKAO], workspace)
    _, second, _, _ = ingest([GAOKAO], tmp_path / "again")
    assert [q["id"] for q in first] == [q["id"] for q in second]
    assert len({q["id"] for q in first}) == len(first) == 102


def test_an_empty_category_is_a_reject_not_a_paper_without_a_name(workspace, tmp_path):
    """It became exam `gaokao-2011--文综` with the 300-point total of a paper it never named."""
    import json

    source = json.loads((GAOKAO / "2010-2022_History_MCQs.json").read_text(encoding="utf-8"))
    source["example"][4]["category"] = ""
    source["example"][5]["category"] = " \u3000 "  # blank: spaces, one of them full-width
    path = tmp_path / "2010-2022_History_MCQs.json"
    path.write_text(json.dumps(source, ensure_ascii=False), encoding="utf-8")
    _, questions, rejects, _ = ingest([path], workspace)
    assert len(questions) + len(rejects) == len(source["example"])
    assert [(r["source"].rsplit("#", 1)[1], r["reason"]) for r in rejects] == [
        ("example[4]", "'category' is empty; cannot tell the exam"),
        ("example[5]", "'category' is empty; cannot tell the exam"),
    ]
    assert not any(q["exam_id"].startswith("gaokao-2011--") for q in questions)
