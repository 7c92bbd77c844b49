"""#9 item 4: English text papers numbered and marked as real papers are, beside the Chinese conventions."""

from __future__ import annotations

from tests.ingest.cli import outputs, rlev_ingest

ENGLISH_PAPER = """\
# Physics Mock Paper 1
Total marks: 40

Section A: multiple choice, 2 marks each
Q1. Which quantity is a vector?
A. Mass
B. Speed
C. Velocity
D. Energy
Q2) The SI unit of force is
A. joule
B. newton
C. watt
D. pascal

Section B
Question 3
A ball is dropped from 20 m. Taking g = 10 m/s^2, how long does it fall, in seconds? [4 marks]
Question 4: A 2 kg mass moves at 3 m/s. Find its kinetic energy in joules. (6 points)
5. Each part below carries its own marks.
1.5 kg of water is heated by 10 K. Find the energy in kJ (c = 4.2 kJ/kg K). [Total 8 marks]

Answer key
Q1 C, Q2 B
3. 2
4. 9
5. 63
"""

PAREN_PAPER = """\
Quiz (each question is worth 5 points)
(1) 2 + 2 = ?
(2) 10 / 4 = ?
Answers:
(1) 4
(2) 2.5
"""


def test_english_numbering_marks_and_answer_key(workspace, tmp_path):
    (tmp_path / "mock.md").write_text(ENGLISH_PAPER, encoding="utf-8")
    run = rlev_ingest(tmp_path / "mock.md", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, _ = outputs(workspace)
    assert rejects == []
    assert [(q["exam_id"], q["score"], q["total"], q["answer"], q["qtype"]) for q in questions] == [
        ("Physics Mock Paper 1", 2.0, 40.0, "C", "single_choice"),
        ("Physics Mock Paper 1", 2.0, 40.0, "B", "single_choice"),
        ("Physics Mock Paper 1", 4.0, 40.0, "2", "numeric"),
        ("Physics Mock Paper 1", 6.0, 40.0, "9", "numeric"),
        ("Physics Mock Paper 1", 8.0, 40.0, "63", "numeric"),
    ]
    assert questions[0]["options"] == ["Mass", "Speed", "Velocity", "Energy"]
    assert questions[2]["question"].startswith("A ball is dropped from 20 m.")
    assert questions[4]["question"].endswith("(c = 4.2 kJ/kg K). [Total 8 marks]")  # "1.5 kg" is not question 1


def test_parenthesised_numbers_and_answers_heading(workspace, tmp_path):
    (tmp_path / "quiz.txt").write_text(PAREN_PAPER, encoding="utf-8")
    run = rlev_ingest(tmp_path / "quiz.txt", "--total", "10", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, _ = outputs(workspace)
    assert rejects == []
    assert [(q["question"], q["score"], q["answer"], q["value"]) for q in questions] == [
        ("2 + 2 = ?", 5.0, "4", 0.5),
        ("10 / 4 = ?", 5.0, "2.5", 0.5),
    ]


def test_parenthesised_sub_parts_stay_inside_a_numbered_question(workspace, tmp_path):
    paper = "满分150分\n三、解答题\n17. 已知数列 a_n（12分）\n(1) 求 a_1；\n(2) 求通项公式。\n答案：a_n = 2n\n"
    (tmp_path / "open.txt").write_text(paper, encoding="utf-8")
    run = rlev_ingest(tmp_path / "open.txt", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, _, _ = outputs(workspace)
    assert [(q["question"], q["score"], q["answer"]) for q in questions] == [
        ("已知数列 a_n（12分）\n(1) 求 a_1；\n(2) 求通项公式。", 12.0, "a_n = 2n")
    ]
