from __future__ import annotations

import json

from tests.conftest import EXAMPLES, EXAMS
from tests.ingest.cli import rlev_ingest
from tests.ingest.helpers import ingest

JEE = EXAMS / "jeebench" / "dataset.json"
KSAT = EXAMS / "ksat_ai_benchmark" / "2025-math-sat.yaml"


def test_jeebench_marks_from_scheme_and_totals(workspace):
    _, questions, rejects, manifest = ingest(
        [JEE], workspace, scheme=EXAMPLES / "jee_scheme.json", totals=EXAMPLES / "jee_totals.csv"
    )
    assert rejects == [] and len(questions) == 30
    by_type = {}
    for q in questions:
        by_type.setdefault(q["qtype"], set()).add((q["score"], q["total"], q["total_source"]))
    assert by_type == {
        "single_choice": {(3.0, 180.0, "totals")},
        "multi_choice": {(4.0, 180.0, "totals")},
        "numeric": {(2.0, 180.0, "totals"), (4.0, 180.0, "totals")},
    }
    gold = sorted(q["answer"] for q in questions if q["qtype"] == "numeric")
    assert "1.00" in gold and "76.25" in gold  # kept as written, never cast
    assert manifest["exams"][0]["points"] == 6 * 3 + 10 * 4 + 10 * 2 + 4 * 4


def test_unmapped_type_in_scheme_is_a_reject_not_a_default(workspace, tmp_path):
    scheme = tmp_path / "scheme.json"
    scheme.write_text(json.dumps({"*": {"MCQ": 3}}))
    _, questions, rejects, _ = ingest([JEE], workspace, scheme=scheme, total=180)
    assert len(questions) == 6 and len(rejects) == 24
    assert "no marks for type 'Numeric' of exam 'JEE Adv 2021 Paper 1'" in {
        r["reason"][:51] + "'" for r in rejects
    } or any("no marks for type 'Numeric' of exam 'JEE Adv 2021 Paper 1'" in r["reason"] for r in rejects)


def test_bad_scheme_file_is_one_clear_error(workspace, tmp_path):
    scheme = tmp_path / "scheme.json"
    scheme.write_text('{"*": {"MCQ": "three"}}')
    run = rlev_ingest(JEE, "--scheme", scheme, "-w", workspace)
    assert run.exit_code == 1
    assert run.error == (
        f"Error: {scheme}: '*' / 'MCQ': 'three' is not a valid number of points ('three' is not a number)"
    )


def test_ksat_electives_common_part_once(workspace):
    _, questions, rejects, manifest = ingest([KSAT], workspace)
    assert rejects == [] and len(questions) == 46
    assert {q["exam_id"] for q in questions} == {"ksat-2025-math-sat"}
    assert {q["total"] for q in questions} == {100.0}
    sections = {}
    for q in questions:
        sections[q["section"]] = sections.get(q["section"], 0) + q["score"]
    assert sections == {None: 74.0, "probability": 26.0, "calculus": 26.0, "geometry": 26.0}
    exam = manifest["exams"][0]
    assert exam["points"] == 100.0 and "sum_exceeds_total" not in exam  # 74 + one elective, not 152
    assert manifest["warnings"] == ["only one exam: the test split is empty (split is by exam)"]
    first = next(q for q in questions if q["source"].endswith("#q1"))
    assert (first["answer"], first["value"], first["options"]) == ("E", 0.02, ["1", "2", "3", "4", "5"])
    assert first["question"].endswith("(E) 5") and first["language"] == "ko"
    short = [q for q in questions if q["qtype"] == "numeric"]
    assert len(short) == 13 and all("answer_suspect" in q["flags"] for q in short)
