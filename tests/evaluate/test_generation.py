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
