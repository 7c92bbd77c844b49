"""The synthetic exam: files that `rlev ingest` reads, answers the verifier grades, a vocabulary that fits."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.demo.task import VOCAB, build_tokenizer, make_papers, write_papers
from rlev_cli.verify import check


def test_papers_ingest_with_values_from_their_points(tmp_path, workspace):
    write_papers(make_papers(6, 20, seed=3), tmp_path / "papers")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "papers"), "--test-fraction", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["questions"] == 120 and summary["rejects"] == 0 and summary["exams"] == 6
    table = pq.read_table(workspace / "questions.parquet").to_pylist()
    assert {r["qtype"] for r in table} == {"numeric", "single_choice", "multi_choice", "fill_blank"}
    for exam in {r["exam_id"] for r in table}:
        rows = [r for r in table if r["exam_id"] == exam]
        assert sum(r["value"] for r in rows) == __import__("pytest").approx(1.0)  # complete papers
    assert 0 < summary["test"] < summary["train"]


def test_every_reference_answer_is_graded_correct_and_a_wrong_one_is_not():
    for paper in make_papers(3, 20, seed=1):
        for record in paper:
            assert check(record["label"], record["label"], record["qtype"]) == 1.0
    assert check("13", "12", "numeric") == 0.0 and check("C", "B", "single_choice") == 0.0
    assert check("AB", "ABC", "multi_choice") == 0.0 and check("123", "132", "fill_blank") == 0.0


def test_points_do_not_depend_on_the_question_type():
    records = [r for paper in make_papers(40, 20, seed=0) for r in paper]
    means = {}
    for qtype in ("numeric", "single_choice", "multi_choice", "fill_blank"):
        points = [r["score"] for r in records if r["qtype"] == qtype]
        means[qtype] = sum(points) / len(points)
    assert max(means.values()) - min(means.values()) < 0.6  # mean points 4.2; same draw for every type


def test_tokenizer_round_trips_questions_and_answers():
    tokenizer = build_tokenizer()
    assert len(tokenizer) == len(VOCAB) == 22
    ids = tokenizer("even A 3 B 4 C 6 D 1")["input_ids"]
    assert tokenizer.unk_token_id not in ids and len(ids) == 9
    assert tokenizer.decode(tokenizer(" 15")["input_ids"]) == "15"
    prompt = [{"role": "system", "content": "You are a chatbot."}, {"role": "user", "content": "add 3 4"}]
    assert tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True) == "add 3 4 ="
