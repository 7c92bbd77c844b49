"""Judge throughput: 400 answers against a local OpenAI-compatible server that answers each request after a
fixed 50 ms and serves many at once (issue #8 item 7).

Reference, measured in the same run: the ideal time at the configured concurrency c,
ceil(400 / c) x 50 ms (every slot busy all the time, zero client overhead). Target: measured <= 1.2 x ideal.

Two measurements:
1. `LLMJudge.judge_many` on 400 distinct answers (cold cache), then again (warm cache: no request).
2. `rlev evaluate --responses ... --verifier judge` as a user runs it (a subprocess), cold cache then warm;
   the command's own grading time (`grading.seconds` in its --json summary) against the same ideal.

    python benchmarks/judge_speed.py [--answers 400] [--delay-ms 50] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(port_queue, delay_s: float) -> None:
    """A judge that replies after `delay_s`: YES when the final step ends with the reference, else NO."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client may reuse its connections

        def setup(self):  # as real servers do: no Nagle delay between the header and body writes
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):  # /models, for the liveness check
            self._send(200, {"data": [{"id": "judge"}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            final = prompt.split("**Solution Process (Final Step Only):**\n", 1)[1].split("\n\n**Reference")[0]
            reference = prompt.split("**Reference Answer:**\n", 1)[1].split("\n\n**Output")[0]
            time.sleep(delay_s)
            word = "YES" if final.endswith(" " + reference) else "NO"
            self._send(200, {"choices": [{"message": {"content": word}, "finish_reason": "stop"}]})

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 1024
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def write_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    """A questions table of n test items and one response per item (every third one wrong)."""
    import pyarrow as pa

    from rlev_cli.schema import QUESTIONS, write_table

    rows = [
        {
            "id": f"q{k:04d}",
            "exam_id": f"exam{k // 40}",
            "qtype": "free_form",
            "question": f"Question {k}: compute the quantity asked.",
            "answer": f"{k * 7}",
            "score": 5.0,
            "total": 200.0,
            "value": 0.025,
            "value_source": "score",
            "split": "test",
            "source": f"bench.jsonl:{k}",
        }
        for k in range(n)
    ]
    questions = folder / "questions.parquet"
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), questions, "questions")
    responses = folder / "responses.jsonl"
    with responses.open("w") as handle:
        for k in range(n):
            answer = k * 7 if k % 3 else k * 7 + 1
            text = f"Step 1: work.\nTherefore, the answer is {answer}"
            handle.write(json.dumps({"benchmark": "indomain", "id": f"q{k:04d}", "response": text}) + "\n")
    return questions, responses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=400)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=None, help="default: the judge's default")
    args = parser.parse_args()

    from rlev_cli.verify.judge import DEFAULT_CONCURRENCY, JudgeCache, LLMJudge

    concurrency = args.concurrency or DEFAULT_CONCURRENCY
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, args.delay_ms / 1000), daemon=True)
    server.start()  # its own process: the server's work does not share the client's interpreter lock
    url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"
    ideal = math.ceil(args.answers / concurrency) * args.delay_ms / 1000
    print(f"{args.answers} answers, server delay {args.delay_ms:.0f} ms, concurrency {concurrency}")
    print(f"ideal: ceil({args.answers}/{concurrency}) x {args.delay_ms:.0f} ms = {ideal:.3f} s\n")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            triples = [(f"Question {k}", f"work\nTherefore, the answer is {k}", str(k)) for k in range(args.answers)]
            judge = LLMJudge(url, "judge", concurrency=concurrency, cache=JudgeCache(folder / "api_cache.sqlite"))
            judge.check_alive()
            judge.judge_many(triples[:concurrency])  # opens the connection pool, as a run's first batch does
            fresh = [(q + "?", r, ref) for q, r, ref in triples]
            start = time.perf_counter()
            results = judge.judge_many(fresh)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            judge.judge_many(fresh)
            warm = time.perf_counter() - start
            assert all(r.correct for r in results), "the fake judge should say YES to every answer here"
            print(f"{'measurement':<44}{'seconds':>9}{'ideal':>8}{'ratio':>8}")
            print(f"{'LLMJudge.judge_many, cold cache':<44}{cold:>9.3f}{ideal:>8.3f}{cold / ideal:>8.2f}")
            print(f"{'LLMJudge.judge_many, warm cache (0 requests)':<44}{warm:>9.3f}{'':>8}{'':>8}")

            questions, responses = write_inputs(folder, args.answers)
            command = [
                sys.executable, "-m", "rlev_cli", "evaluate", "--responses", str(responses), "--data", str(questions),
                "--split", "test", "--verifier", "judge", "--judge-url", url, "--judge-model", "judge",
                "--judge-concurrency", str(concurrency), "--out", str(folder / "eval"), "--json",
            ]  # fmt: skip
            env = {**os.environ, "RLEV_WORKSPACE": str(folder / "ws")}
            for label in ("cold", "warm"):
                start = time.perf_counter()
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - start
                if done.returncode:
                    raise SystemExit(f"rlev evaluate failed:\n{done.stderr}")
                summary = json.loads(done.stdout)
                grading = summary["grading"]
                name = f"rlev evaluate --responses, {label} cache"
                print(f"{name + ': whole command':<44}{wall:>9.3f}{'':>8}{'':>8}")
                ratio = f"{grading['seconds'] / ideal:>8.2f}" if label == "cold" else f"{'':>8}"
                print(f"{'  grading (' + str(grading['judge_requests']) + ' requests)':<44}{grading['seconds']:>9.3f}"
                      f"{ideal if label == 'cold' else '':>8}{ratio}")  # fmt: skip
            acc = summary["comparison"][0]["acc"]
            expected = 100.0 * sum(1 for k in range(args.answers) if k % 3) / args.answers
            print(f"\naccuracy reported by rlev evaluate: {acc:.1f} % (expected {expected:.1f} %)")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
