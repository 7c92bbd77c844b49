"""#11 item 6: a run records what it trained on; `evaluate` refuses items the run trained on (matched by id
or question text, e.g. after a re-ingest moved exams between splits) unless --allow-train-overlap."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.runs import question_sha
from rlev_cli.schema import QUESTIONS, write_table

from .test_advantages import two_prompt_table

runner = CliRunner()


def test_evaluate_refuses_the_runs_training_items(tmp_path):
    data = two_prompt_table(tmp_path / "q.parquet")
    run = tmp_path / "run"
    trained = runner.invoke(
        app,
        ["train", "--data", str(data), "--max-steps", "1", "--batch-size", "8", "--max-completion-length", "4",
         "--kl-coef", "0", "--output", str(run)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert manifest["train_ids"] == {"path": "train_ids.parquet", "n": 2}
    assert pq.read_table(run / "train_ids.parquet").to_pylist() == [
        {"id": "high", "question_sha256": question_sha("Question high?"), "segment": 0},
        {"id": "low", "question_sha256": question_sha("Question low?"), "segment": 0},
    ]
    # a re-ingest with another seed: the same questions now sit in the test split, one under a new id
    rows = pq.read_table(data).to_pylist()
    for row in rows:
        row["split"] = "test"
    rows[1]["id"] = "low-renamed"
    reingested = tmp_path / "reingested.parquet"
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), reingested, "questions")
    evaluate = ["evaluate", str(run), "--data", str(reingested), "--max-new-tokens", "2", "--out", str(tmp_path / "e")]
    refused = runner.invoke(app, evaluate)
    assert refused.exit_code == 1
    assert str(refused.exception) == (
        f"{run}: 2 of 2 evaluated item(s) were in this run's training data (high, low-renamed); evaluate on the "
        "table the run was trained from (its test split), or pass --allow-train-overlap to evaluate anyway and "
        "report them"
    )
    assert not (tmp_path / "e" / "predictions.parquet").exists()  # refused before generating anything
    allowed = runner.invoke(app, [*evaluate, "--allow-train-overlap"])
    assert allowed.exit_code == 0, allowed.output
    assert "2 of 2 evaluated item(s) were in this run's training data (high, low-renamed)" in allowed.stderr
    assert json.loads((tmp_path / "e" / "leakage.json").read_text()) == {
        str(run): {"overlap": 2, "of": 2, "ids": ["high", "low-renamed"]}
    }
    # the outputs are one set: a later evaluation into the same folder, interrupted, leaves this one's whole
    # (leakage.json was rewritten at its start, beside the older predictions); one that finishes on items the
    # run never saw removes the report and plots that described the other evaluation
    import rlev_cli.evaluate.core as core

    out = tmp_path / "e"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert set(before) >= {"predictions.parquet", "summary.parquet", "leakage.json", "value_buckets.png"}
    real = core.generate_all

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    core.generate_all = interrupted
    try:
        stopped = runner.invoke(app, [*evaluate, "--allow-train-overlap", "--limit", "1"])
    finally:
        core.generate_all = real
    assert stopped.exit_code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")} == before
    rows[0].update(id="unseen", question="Question unseen?")
    rows[1].update(id="unseen-2", question="Question unseen-2?")
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), reingested, "questions")
    clean = runner.invoke(app, evaluate)
    assert clean.exit_code == 0, clean.output
    assert not (out / "leakage.json").exists()
    assert {r["id"] for r in pq.read_table(out / "predictions.parquet").to_pylist()} == {"unseen", "unseen-2"}
