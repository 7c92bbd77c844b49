"""Backends on the tiny model and a local OpenAI-compatible server; resume after a kill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.generate import HFBackend, OpenAIBackend
from tests.conftest import OOD, ingest_examples

runner = CliRunner()
PROMPT = [{"role": "user", "content": "1+1=?"}]


def test_hf_backend_batched_left_padding_matches_one_by_one(tiny_model_dir):
    backend = HFBackend(str(tiny_model_dir), batch_size=3, max_new_tokens=6)
    prompts = [[{"role": "user", "content": text}] for text in ("a", "一个很长很长的中文问题？" * 3, "b c d")]
    batched = backend.generate(prompts)
    single = [backend.generate([p])[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(g.tokens == 6 and g.finish_reason == "length" for g in batched)  # random tiny model: no EOS


class FakeServer(BaseHTTPRequestHandler):
    calls = 0
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with FakeServer.lock:
            FakeServer.calls += 1
            first = FakeServer.calls == 1
            FakeServer.in_flight += 1
            FakeServer.max_in_flight = max(FakeServer.max_in_flight, FakeServer.in_flight)
        time.sleep(0.05)
        with FakeServer.lock:
            FakeServer.in_flight -= 1
        if first:  # one transient failure: the client must retry
            self.send_response(503)
            self.end_headers()
            return
        content = "Therefore, the answer is " + body["messages"][-1]["content"][-1]
        payload = json.dumps(
            {"choices": [{"message": {"content": content}, "finish_reason": "stop"}], "usage": {"completion_tokens": 7}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeServer.calls = FakeServer.max_in_flight = 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_backend_bounded_concurrency_and_retries(server):
    backend = OpenAIBackend(server, "served-model", concurrency=3, retries=3)
    prompts = [[{"role": "user", "content": f"question {k}"}] for k in range(10)]
    results = backend.generate(prompts)
    assert [r.text for r in results] == [f"Therefore, the answer is {k}" for k in range(10)]
    assert all(r.tokens == 7 and r.finish_reason == "stop" for r in results)
    assert FakeServer.calls == 11 and 1 <= FakeServer.max_in_flight <= 3


def test_server_that_does_not_answer_is_one_clear_error(workspace):
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", retries=2, timeout_s=2)
    with pytest.raises(RlevError, match=re.escape("server http://127.0.0.1:9/v1 did not answer after 2 tries")):
        backend.generate([PROMPT])


def test_evaluate_through_a_served_model(server, tmp_path, workspace):
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--backend",
            "openai",
            "--base-url",
            server,
            "--model",
            "served",
            "--benchmarks",
            "supergpqa",
            "--data-dir",
            str(OOD),
            "--limit",
            "5",
            "--out",
            str(tmp_path / "e"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "e" / "predictions.parquet").to_pylist()
    assert len(rows) == 5 and {r["response_tokens"] for r in rows} == {7}


@pytest.mark.slow
def test_killed_evaluation_resumes_without_regenerating(tmp_path, workspace):
    ingest_examples("--test-fraction", "0.5")
    out = tmp_path / "eval"
    args = [
        "evaluate",
        "--model",
        "tiny",
        "--benchmarks",
        "indomain,mmlu_pro,supergpqa",
        "--data-dir",
        str(OOD),
        "--max-new-tokens",
        "24",
        "--batch-size",
        "4",
        "--out",
        str(out),
        "--json",
    ]
    env = {**os.environ, "RLEV_WORKSPACE": str(workspace)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlev_cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    partial = out / ".partial" / "tiny"
    deadline = time.time() + 240
    while sum(len(p.read_text().splitlines()) for p in partial.glob("*.jsonl")) < 32 if partial.exists() else True:
        assert proc.poll() is None, "evaluation finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Only whole lines count: the kill may cut the last one, which the resumed run drops and regenerates.
    done = sum(p.read_text().count("\n") for p in partial.glob("*.jsonl"))
    first = next(partial.glob("*.jsonl"))
    with first.open("a") as handle:
        handle.write('{"id": "cut by the kill", "te')
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    total = pq.read_table(out / "predictions.parquet").num_rows
    assert summary["reused"] == done and summary["generated"] == total - done and done >= 32
    assert not partial.exists()  # merged into predictions.parquet


def test_benchmarks_all_evaluates_what_is_there_and_reports_the_missing_one(server, tmp_path, workspace):
    ingest_examples("--test-fraction", "0.5")
    args = ["evaluate", "--backend", "openai", "--base-url", server, "--model", "served", "--data-dir", str(OOD),
            "--limit", "2", "--out", str(tmp_path / "e"), "--json"]  # fmt: skip
    result = runner.invoke(app, [*args, "--benchmarks", "all"])  # GPQA is gated: not in the fixtures, hub offline
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["missing_benchmarks"]) == ["gpqa_diamond"]
    assert any(w.startswith("gpqa_diamond not evaluated: gpqa_diamond: cannot load") for w in summary["warnings"])
    done = {r["benchmark"] for r in pq.read_table(tmp_path / "e" / "predictions.parquet").to_pylist()}
    assert done == {"indomain", "mmlu_pro", "ceval", "supergpqa"}
    calls = FakeServer.calls
    explicit = runner.invoke(app, [*args, "--benchmarks", "mmlu_pro,gpqa_diamond"])  # asked by name: fail first
    assert explicit.exit_code == 1 and isinstance(explicit.exception, RlevError)
    assert str(explicit.exception).startswith("gpqa_diamond: cannot load Idavidrein/gpqa")
    assert FakeServer.calls == calls  # nothing generated


def test_a_resume_under_other_settings_regenerates_and_says_so(server, tmp_path, workspace, monkeypatch):
    """End to end through `rlev evaluate` (a served model): kept responses made with --max-new-tokens 8 are not
    the answers of a run asked for 16."""
    from rlev_cli.evaluate import core

    monkeypatch.setattr(core, "_clear_partials", lambda out_dir: None)  # as if the first run had been killed
    args = ["evaluate", "--backend", "openai", "--base-url", server, "--model", "served", "--benchmarks",
            "mmlu_pro", "--data-dir", str(OOD), "--limit", "2", "--out", str(tmp_path / "e"), "--json"]  # fmt: skip
    first = runner.invoke(app, [*args, "--max-new-tokens", "8"])
    assert first.exit_code == 0, first.output
    again = json.loads(runner.invoke(app, [*args, "--max-new-tokens", "8"]).stdout)
    assert (again["generated"], again["reused"]) == (0, 2)
    other = json.loads(runner.invoke(app, [*args, "--max-new-tokens", "16"]).stdout)
    assert (other["generated"], other["reused"]) == (2, 0)
    assert (
        f"served: 2 kept response(s) in {tmp_path / 'e' / '.partial'} were generated with another prompt, model or "
        "sampling settings (--max-new-tokens, --temperature, --seed, --backend); generated again"
    ) in other["warnings"]


def test_a_data_dir_that_does_not_exist_says_so(tmp_path, workspace):
    result = runner.invoke(app, ["evaluate", "--model", "tiny", "--benchmarks", "mmlu_pro", "--data-dir", "nope"])
    assert result.exit_code == 1
    assert str(result.exception) == "--data-dir nope: no such folder (it should hold <benchmark>.jsonl files)"


def _questions(path, with_prompts: bool) -> list[dict]:
    import pyarrow as pa

    from rlev_cli.schema import QUESTIONS, write_table

    rows = [
        {"id": f"q{k}", "exam_id": "e", "qtype": "numeric" if k < 3 else "free_form", "question": f"Q{k}?",
         "answer": str(k), "score": 2.0 * (k + 1), "total": 30.0, "value": 2.0 * (k + 1) / 30.0,
         "value_source": "score" if k else "predicted", "split": "test", "source": f"f:{k}"}
        for k in range(4)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=QUESTIONS)
    table = table.append_column("value_pred", pa.array([0.1, 0.1, 0.4, 0.4]))
    if with_prompts:
        table = table.append_column("system_prompt", pa.array(["Row prompt.", None, None, None], pa.string()))
    write_table(table, path, "questions")
    return table.to_pylist()


def test_in_domain_prompts_use_the_row_system_prompt_unless_given(tmp_path):
    from rlev_cli.evaluate.config import EvalConfig
    from rlev_cli.evaluate.core import indomain_items
    from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages

    rows = _questions(tmp_path / "q.parquet", with_prompts=True)
    items = indomain_items(rows, EvalConfig())
    assert items[0].messages == policy_messages("Q0?", "Row prompt.")
    assert items[0].prompt_format == "rlev/row-system-prompt/v1"
    assert items[1].messages == policy_messages("Q1?", SYSTEM_PROMPT)
    assert items[1].prompt_format == "rlev/policy-system-prompt/v1"
    given = indomain_items(rows, EvalConfig(system_prompt="Mine."))
    assert {it.messages[0]["content"] for it in given} == {"Mine."}
    assert {it.prompt_format for it in given} == {"rlev/custom-system-prompt/v1"}
    no_column = indomain_items(_questions(tmp_path / "p.parquet", with_prompts=False), EvalConfig())
    assert {it.messages[0]["content"] for it in no_column} == {SYSTEM_PROMPT}


def test_value_column_coverage_and_value_sources_are_reported(tmp_path, workspace):
    questions, responses = tmp_path / "q.parquet", tmp_path / "r.jsonl"
    _questions(questions, with_prompts=False)
    responses.write_text(
        "".join(
            json.dumps({"benchmark": "indomain", "id": f"q{k}", "response": f"the answer is {k}"}) + "\n"
            for k in range(4)
        )
    )
    args = ["evaluate", "--responses", str(responses), "--data", str(questions), "--out", str(tmp_path / "e"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["value_column"] == "value" and summary["value_sources"] == {"predicted": 1, "score": 3}
    assert summary["comparison"][0]["coverage"] == 75.0  # the free-form item cannot be graded by rule
    assert summary["units"]["h_acc"] == "% of the value at stake"
    assert any(w.startswith("r indomain: coverage 75.0 % (3/4 graded)") for w in summary["warnings"])
    assert any("not ground truth for some rows (predicted=1, score=3)" in w for w in summary["warnings"])
    rows = pq.read_table(tmp_path / "e" / "predictions.parquet").to_pylist()
    assert [r["verdict_source"] for r in rows] == ["rule", "rule", "rule", "none"]
    assert rows[3]["ungraded_reason"] == "free-form reference: needs the judge"
    by_pred = runner.invoke(app, [*args, "--value-column", "value_pred"])
    assert by_pred.exit_code == 0, by_pred.output
    summary = json.loads(by_pred.stdout)
    assert summary["value_column"] == "value_pred" and summary["value_sources"] == {"column value_pred": 4}
    assert summary["comparison"][0]["h_acc"] == 100.0  # graded rows 0-2, all correct
    bad = runner.invoke(app, [*args, "--value-column", "points"])
    wanted = "no column 'points' for --value-column; value columns here: score, total, value, value_pred"
    assert bad.exit_code == 1 and wanted in str(bad.exception)
