"""The LLM judge against a local OpenAI-compatible server: concurrency, cache, retries, soft score, parsing,
fail-fast; and the Grader's share-out between rules and judge."""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.schema import QUESTIONS, write_table
from rlev_cli.verify.grade import Grader, make_grader
from rlev_cli.verify.judge import JUDGE_PROMPT, JudgeCache, LLMJudge, judge_messages, parse_verdict, soft_score

runner = CliRunner()
DEAD_URL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


class Judge(BaseHTTPRequestHandler):
    """A fake judge: YES when the final step ends with the reference. Class attributes steer and record it."""

    protocol_version = "HTTP/1.1"

    def setup(self):  # as real servers do: no Nagle delay between the header and body writes
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    delay_s = 0.0
    fail_first = 0  # answer 503 to this many requests first
    status = 200
    p_yes: float | None = None  # reply with first-token logprobs P(YES) = p_yes, P(NO) = 1 - p_yes
    reply_text: str | None = None  # reply this text instead of YES/NO
    calls = 0
    in_flight = 0
    max_in_flight = 0
    ports: ClassVar[set[int]] = set()
    bodies: ClassVar[list[dict]] = []
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.delay_s, cls.fail_first, cls.status, cls.p_yes, cls.reply_text = 0.0, 0, 200, None, None
        cls.calls = cls.in_flight = cls.max_in_flight = 0
        cls.ports, cls.bodies = set(), []

    def do_GET(self):
        self._send(200, {"data": [{"id": "judge"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            number = cls.calls
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
            cls.ports.add(self.client_address[1])
            cls.bodies.append(body)
        time.sleep(cls.delay_s)
        with cls.lock:
            cls.in_flight -= 1
        if number <= cls.fail_first or cls.status != 200:
            self._send(cls.status if cls.status != 200 else 503, {"error": "overloaded"})
            return
        prompt = body["messages"][-1]["content"]
        final = prompt.split("**Solution Process (Final Step Only):**\n", 1)[1].split("\n\n**Reference")[0]
        reference = prompt.split("**Reference Answer:**\n", 1)[1].split("\n\n**Output")[0]
        word = "YES" if final.endswith(" " + reference) else "NO"
        choice: dict = {"message": {"content": cls.reply_text or word}, "finish_reason": "stop"}
        if cls.p_yes is not None and body.get("logprobs"):
            top = [
                {"token": "YES", "logprob": math.log(cls.p_yes)},
                {"token": "NO", "logprob": math.log(1 - cls.p_yes)},
            ]
            choice["logprobs"] = {
                "content": [
                    {"token": "**", "logprob": -0.01, "top_logprobs": [{"token": "**", "logprob": -0.01}]},
                    {"token": word, "logprob": top[0]["logprob"], "top_logprobs": top},
                ]
            }
        self._send(200, {"choices": [choice]})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_url():
    Judge.reset()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Judge)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def triples(n: int, wrong: set[int] = frozenset()) -> list[tuple[str, str, str]]:
    return [
        (f"Question {k}?", f"working\nTherefore, the answer is {k + 1 if k in wrong else k}\n\n", str(k))
        for k in range(n)
    ]


@pytest.mark.parametrize(
    "reply,verdict",
    [("YES", True), ("**YES**", True), ("Yes.", True), ("  yes \n", True), ("'NO'", False), ("No.", False),
     ("**NO**", False), ("Output: NO", False), ("Nope", None), ("YES or NO", None), ("", None)],
)  # fmt: skip
def test_verdict_parsing(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_judge_sees_the_paper_prompt_and_only_the_final_step():
    system, user = judge_messages("What is 6x7?", "6x7 = 42\nTherefore, the answer is 42\n\n", "42")
    assert system == {"role": "system", "content": "You are a helpful assistant."}
    assert user["content"] == JUDGE_PROMPT.format(
        question="What is 6x7?", response="Therefore, the answer is 42", reference="42"
    )
    assert "6x7 = 42" not in user["content"]


def test_requests_are_concurrent_on_reused_connections(judge_url):
    Judge.delay_s = 0.1
    judge = LLMJudge(judge_url, "judge", concurrency=8)
    results = judge.judge_many(triples(24, wrong={3, 5}))
    assert [r.correct for r in results] == [k not in (3, 5) for k in range(24)]
    assert Judge.calls == 24 and 1 < Judge.max_in_flight <= 8
    assert len(Judge.ports) <= 8  # keep-alive: 24 requests over at most 8 connections
    judge.judge_many([("Q new?", "Therefore, the answer is 1", "1")])
    assert len(Judge.ports) <= 8  # the next batch reuses the same pool


def test_cache_hit_costs_no_request(judge_url, tmp_path):
    cache = tmp_path / "judge_cache.sqlite"
    first = LLMJudge(judge_url, "judge", cache=JudgeCache(cache)).judge_many(triples(5, wrong={1}))
    assert Judge.calls == 5 and not any(r.cached for r in first)
    again = LLMJudge(judge_url, "judge", cache=JudgeCache(cache))  # a new process, the same workspace
    second = again.judge_many(triples(5, wrong={1}))
    assert Judge.calls == 5 and again.requests == 0 and all(r.cached for r in second)
    assert [r.correct for r in second] == [r.correct for r in first] == [True, False, True, True, True]
    other_model = LLMJudge(judge_url, "another-judge", cache=JudgeCache(cache))
    other_model.judge_many(triples(5, wrong={1}))
    assert Judge.calls == 10 and len(JudgeCache(cache)) == 10  # the key holds the judge model


def test_the_judge_pickles_and_keeps_its_cache(judge_url, tmp_path):
    import pickle

    judge = LLMJudge(judge_url, "judge", cache=JudgeCache(tmp_path / "c.sqlite"))
    judge.judge_many(triples(2))  # started: a thread pool, a connection pool, an open database
    copy = pickle.loads(pickle.dumps(judge))
    assert [r.cached for r in copy.judge_many(triples(2))] == [True, True] and Judge.calls == 2


def test_identical_prompts_in_one_batch_are_asked_once(judge_url):
    judge = LLMJudge(judge_url, "judge")
    results = judge.judge_many(triples(1) * 4)
    assert Judge.calls == 1 and [r.correct for r in results] == [True] * 4


def test_transient_failures_are_retried(judge_url):
    Judge.fail_first = 2
    judge = LLMJudge(judge_url, "judge", retries=3, backoff_s=0.01)
    assert [r.correct for r in judge.judge_many(triples(1))] == [True]
    assert Judge.calls == 3


def test_a_judge_that_keeps_failing_is_one_clear_error(judge_url, tmp_path):
    Judge.status = 503
    judge = LLMJudge(judge_url, "judge", retries=3, backoff_s=0.01, cache=JudgeCache(tmp_path / "c.sqlite"))
    reply = '{"error": "overloaded"}'
    wanted = f"judge {judge_url} (judge) failed on 2 of 2 answers: HTTP 503: {reply} (after 3 tries)"
    with pytest.raises(RlevError, match=re.escape(wanted)):
        judge.judge_many(triples(2))
    assert Judge.calls == 6
    grader = Grader("judge", judge)
    with pytest.raises(RlevError, match="HTTP 503"):  # never a silent 0
        grader.grade(["q"], ["Therefore, the answer is 1"], ["1"], ["numeric"])


def test_a_wrong_model_name_is_not_retried(judge_url):
    Judge.status = 404
    with pytest.raises(RlevError, match=re.escape('HTTP 404: {"error": "overloaded"} (not retried)')):
        LLMJudge(judge_url, "judge", retries=4, backoff_s=0.01).judge_many(triples(1))
    assert Judge.calls == 1


def test_soft_score_from_first_token_logprobs(judge_url):
    Judge.p_yes = 0.3  # the reply says YES but the soft score, 0.3, is below 0.5: NO
    grader = Grader("judge", LLMJudge(judge_url, "judge"))
    verdict = grader.grade(["Q?"], ["Therefore, the answer is 7"], ["7"], ["numeric"])[0]
    assert verdict.correct is False and verdict.source == "judge" and verdict.judge_score == pytest.approx(0.3)
    assert Judge.bodies[0]["logprobs"] is True and Judge.bodies[0]["top_logprobs"] == 5
    Judge.p_yes = 0.8
    verdict = grader.grade(["Q2?"], ["Therefore, the answer is 7"], ["7"], ["numeric"])[0]
    assert verdict.correct is True and verdict.judge_score == pytest.approx(0.8)
    assert soft_score({"message": {"content": "YES"}}) is None  # no logprobs: the parsed reply decides


def test_an_unparseable_reply_is_ungraded_with_its_reason(judge_url):
    Judge.reply_text = "I cannot tell"
    verdict = Grader("judge", LLMJudge(judge_url, "judge")).grade(["Q?"], ["the answer is 7"], ["7"], ["numeric"])[0]
    assert verdict.correct is None and verdict.source == "none"
    assert verdict.reason == "the judge replied 'I cannot tell', neither YES nor NO"


def test_rule_plus_judge_sends_only_what_rules_cannot_grade(judge_url, tmp_path):
    grader = make_grader("rule+judge", judge_url, "judge", cache_path=tmp_path / "c.sqlite")
    verdicts = grader.grade(
        ["q1", "q2", "q3", "q4"],
        ["Therefore, the answer is B", "Therefore, the answer is 12", "so x = 3", "so x = 4"],
        ["B", "13", "x = 3", "x = 3"],
        ["single_choice", "numeric", "free_form", "free_form"],
    )
    assert [(v.correct, v.source) for v in verdicts] == [
        (True, "rule"),
        (False, "rule"),
        (True, "judge"),
        (False, "judge"),
    ]
    assert Judge.calls == 2  # the two free-form answers only
    every = make_grader("judge", judge_url, "judge", cache_path=tmp_path / "c2.sqlite")
    every.grade(
        ["q1", "q2"], ["Therefore, the answer is B", "Therefore, the answer is 12"], ["B", "13"], ["single_choice"] * 2
    )
    assert Judge.calls == 4  # the paper's setting: every answer goes to the judge


def test_rules_alone_leave_free_form_ungraded_with_a_reason():
    verdict = make_grader("rule").grade(["q"], ["so x = 3"], ["解: x = 3"], ["free_form"])[0]
    assert (verdict.correct, verdict.source, verdict.reason) == (None, "none", "free-form reference: needs the judge")


def test_a_dead_judge_url_fails_fast():
    start = time.perf_counter()
    with pytest.raises(RlevError, match=re.escape(f"judge {DEAD_URL} does not answer")):
        make_grader("judge", DEAD_URL, "judge")
    assert time.perf_counter() - start < 10


def test_a_dead_judge_url_fails_before_any_generation(tmp_path, workspace):
    result = runner.invoke(
        app,
        ["evaluate", "--model", "tiny", "--verifier", "judge", "--judge-url", DEAD_URL, "--judge-model", "j",
         "--out", str(tmp_path / "e")],
    )  # fmt: skip
    assert result.exit_code == 1 and isinstance(result.exception, RlevError)
    assert str(result.exception).startswith(f"judge {DEAD_URL} does not answer")
    assert not (tmp_path / "e").exists()  # nothing generated, nothing written


def write_questions(path, n: int) -> None:
    rows = [
        {"id": f"q{k}", "exam_id": "exam", "qtype": "free_form", "question": f"Question {k}?", "answer": str(k),
         "score": float(k + 1), "total": 55.0, "value": (k + 1) / 55.0, "value_source": "score", "split": "test",
         "source": f"t.jsonl:{k}"}
        for k in range(n)
    ]  # fmt: skip
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")


def test_evaluate_grades_every_answer_by_the_judge_and_caches(judge_url, tmp_path, workspace):
    questions, responses = tmp_path / "q.parquet", tmp_path / "r.jsonl"
    write_questions(questions, 10)
    responses.write_text(
        "".join(
            json.dumps({"benchmark": "indomain", "id": f"q{k}", "response": f"Therefore, the answer is {k + (k < 3)}"})
            + "\n"
            for k in range(10)
        )
    )
    args = ["evaluate", "--responses", str(responses), "--data", str(questions), "--verifier", "judge",
            "--judge-url", judge_url, "--judge-model", "judge", "--out", str(tmp_path / "e"), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert Judge.calls == 10
    rows = pq.read_table(tmp_path / "e" / "predictions.parquet").to_pylist()
    assert [r["correct"] for r in rows] == [False] * 3 + [True] * 7
    assert {r["verdict_source"] for r in rows} == {"judge"} and {r["extractor"] for r in rows} == {"judge_last_line"}
    summary = pq.read_table(tmp_path / "e" / "summary.parquet").to_pylist()[0]
    assert summary["coverage"] == 100.0 and summary["acc"] == 70.0
    assert summary["h_acc"] == pytest.approx(100 * sum(range(4, 11)) / 55)
    assert (workspace / "judge_cache.sqlite").exists()
    assert runner.invoke(app, args).exit_code == 0 and Judge.calls == 10  # re-grading costs no request
