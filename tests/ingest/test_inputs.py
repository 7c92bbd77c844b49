"""#18 item 7: how ingest finds and decodes its inputs. Symlinked folders are walked (a loop is one
warning); a text file that is not UTF-8 is never Latin read as Chinese, and a guessed encoding is said and
recorded; the --test-fraction it cannot come close to is said."""

from __future__ import annotations

import json

import pytest

from tests.ingest.cli import outputs, rlev_ingest


def write_jsonl(path, exam, n):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"query": f"{exam} question {i}?", "label": "A", "score": 1, "total": n, "exam_id": exam} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_symlinked_folders_are_walked_and_a_loop_is_one_warning(workspace, tmp_path):
    papers = tmp_path / "papers"
    write_jsonl(papers / "2023" / "a.jsonl", "E2023", 2)
    write_jsonl(tmp_path / "shared" / "2024" / "b.jsonl", "E2024", 3)
    (papers / "2024").symlink_to(tmp_path / "shared" / "2024", target_is_directory=True)  # a folder kept elsewhere
    (papers / "2023" / "again").symlink_to("..", target_is_directory=True)  # a loop back to papers/
    (papers / "2023" / "self").symlink_to(".", target_is_directory=True)  # a loop to itself
    run = rlev_ingest(papers, "-w", workspace, "--test-fraction", "0")
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    # read through the link; the manifest names the file where it really is
    assert [i["path"] for i in manifest["inputs"]] == ["papers/2023/a.jsonl", "shared/2024/b.jsonl"]
    assert sorted({q["exam_id"] for q in questions}) == ["E2023", "E2024"] and len(questions) == 5
    warning = (
        f"2 symlinked folder(s) lead back to a folder above them and were not walked again (a loop): "
        f"{papers / '2023' / 'again'} -> .., {papers / '2023' / 'self'} -> ."
    )
    assert manifest["warnings"] == [warning]
    assert " ".join(run.stderr.split()).count("lead back to a folder above them") == 1


# Every accented letter is followed by an ASCII letter, so GB18030 decodes the whole file without an error.
LATIN_PAPER = """\
# Logic Quiz
Total marks: 10
Q1. How many axioms does Gödel's naïve façade list? [5 marks]
Answer: 3
Q2. The señora bought 2 crêpes and then 3 more. How many crêpes? [5 marks]
Answer: 5
"""


def test_a_windows_1252_paper_is_not_read_as_chinese(workspace, tmp_path):
    paper = tmp_path / "quiz.txt"
    paper.write_bytes(LATIN_PAPER.encode("cp1252"))
    paper.read_bytes().decode("gb18030")  # the trap: it decodes, as "G鰀el's na飗e fa鏰de"
    run = rlev_ingest(paper, "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    assert [(q["question"], q["language"]) for q in questions] == [
        ("How many axioms does Gödel's naïve façade list? [5 marks]", "en"),
        ("The señora bought 2 crêpes and then 3 more. How many crêpes? [5 marks]", "en"),
    ]
    assert (manifest["inputs"][0]["encoding"], manifest["inputs"][0]["encoding_guessed"]) == ("cp1252", True)
    warning = (
        "quiz.txt: not UTF-8; read as Windows-1252 (Western European) by guess (recorded in the manifest); "
        "if its text looks wrong, save the file as UTF-8"
    )
    assert manifest["warnings"] == [warning, "only one exam: the test split is empty (split is by exam)"]
    assert warning in " ".join(run.stderr.split())


@pytest.mark.parametrize(
    ("question", "encoding", "expected"),
    [
        ("Le café est chaud, n'est-ce pas? [2 marks]", "cp1252", "cp1252"),  # not GB18030 at all: was an error
        ("下列正确的是A和B中的哪一个？（5分）", "gb18030", "gb18030"),  # "A和B": Chinese all the same
        ("Is “x” > 0? [2 marks]", "utf-8", None),  # UTF-8: nothing guessed, nothing recorded
    ],
)
def test_the_encoding_is_recorded_when_guessed(workspace, tmp_path, question, encoding, expected):
    paper = tmp_path / "p.txt"
    paper.write_bytes(f"1. {question}\nAnswer: A\n".encode(encoding))
    run = rlev_ingest(paper, "-w", workspace, "--total", "10")
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    assert manifest["inputs"][0].get("encoding") == expected
    assert [q["question"] for q in questions] == [question]


def test_a_test_fraction_the_exams_cannot_meet_is_a_warning(workspace, tmp_path):
    """#18: 4 of 6 questions went to test under --test-fraction 0.2, without a word (2 exams)."""
    write_jsonl(tmp_path / "p" / "big.jsonl", "big", 4)
    write_jsonl(tmp_path / "p" / "small.jsonl", "small", 2)
    run = rlev_ingest(tmp_path / "p", "-w", workspace, "--test-fraction", "0.2", "--seed", "0")
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    assert sorted({q["exam_id"] for q in questions if q["split"] == "test"}) == ["big"]
    warning = (
        "--test-fraction 0.2: the split is drawn by whole exam and 2 exam(s) cannot come close: test holds 4 "
        "of 6 questions (67 %); ingest more exams, or choose the split with a 'split' column"
    )
    assert manifest["warnings"] == [warning]
    # a fraction the exams do meet says nothing
    balanced = rlev_ingest(tmp_path / "p", "-w", tmp_path / "b", "--test-fraction", "0.5", "--seed", "0")
    assert outputs(tmp_path / "b")[2]["warnings"] == [] and balanced.exit_code == 0


def test_the_answer_file_beside_a_paper_is_an_input_with_its_own_hash_and_encoding(workspace, tmp_path):
    """A UTF-8 paper with a GB18030 answer key: the guess is the key's (it was recorded as the paper's), and the
    key is recorded with its SHA-256 under its paper (it was not at all: a changed key changed the set unrecorded)."""
    import hashlib

    paper, key = tmp_path / "quiz.txt", tmp_path / "quiz.answers.txt"
    paper.write_text("1. 下列正确的是哪一个？（5分）\n2. 1+1=?（5分）\n", encoding="utf-8")
    key.write_bytes("1. 甲\n2. 2\n".encode("gb18030"))
    run = rlev_ingest(tmp_path, "-w", workspace, "--total", "10")
    assert run.exit_code == 0, run.stderr
    questions, _, manifest = outputs(workspace)
    assert [q["answer"] for q in questions] == ["甲", "2"]
    assert manifest["inputs"] == [
        {"path": "quiz.txt", "sha256": hashlib.sha256(paper.read_bytes()).hexdigest(), "bytes": 63,
         "format": "text", "records": 2,
         "answers": {"path": "quiz.answers.txt", "sha256": hashlib.sha256(key.read_bytes()).hexdigest(), "bytes": 11,
                     "encoding": "gb18030", "encoding_guessed": True}},
    ]  # fmt: skip
    assert manifest["warnings"][0] == (
        "quiz.answers.txt: not UTF-8; read as GB18030 (Chinese) by guess (recorded in the manifest); if its text looks "
        "wrong, save the file as UTF-8"
    )
