"""The rule verifier against the labelled set (tests/verify/labelled.jsonl, built by build_labelled.py),
and its time bound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from rlev_cli.verify import check, extract_final_answer, rule_verdicts
from rlev_cli.verify.check import option_letters, refusal
from tests.conftest import EXAMS, REPO

LABELLED = Path(__file__).with_name("labelled.jsonl")
CASES = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def verdicts():
    # 5 s, not the default 1 s: on a loaded CI machine an equation comparison can take over a second, and
    # these tests are about verdicts; the time bound has its own tests below
    return rule_verdicts(
        [c["response"] for c in CASES], [c["reference"] for c in CASES], [c["qtype"] for c in CASES], timeout_s=5.0
    )


def test_the_labelled_set_is_the_one_the_builder_writes():
    from tests.verify.build_labelled import cases

    assert cases == CASES  # regenerate with: python tests/verify/build_labelled.py
    assert len(CASES) >= 300
    assert any("故选" in c["response"] for c in CASES) and any(c["response"].startswith("Therefore") for c in CASES)
    assert Counter(c["verdict"] for c in CASES)[False] >= 150  # near-misses, not only right answers


def test_references_are_the_fixtures_own():
    gaokao = json.loads((EXAMS / "gaokao_bench" / "2010-2022_Math_I_Fill-in-the-Blank.json").read_text("utf-8"))
    fill_in = {e["answer"].strip() for e in gaokao["example"]}
    jee = {r["gold"] for r in json.loads((EXAMS / "jeebench" / "dataset.json").read_text())}
    for case in CASES:
        if case["source"].startswith("GAOKAO Math_I_Fill-in"):
            assert case["reference"] in fill_in, case
        if case["source"].startswith("JEEBench"):
            assert case["reference"] in jee, case


def test_zero_false_positives_and_agreement(verdicts):
    wrong = [(c, v) for c, v in zip(CASES, verdicts, strict=True) if v[0] != c["verdict"]]
    false_positives = [(c, v) for c, v in wrong if v[0] is True and c["verdict"] is not True]
    report = "\n".join(
        f"{'FALSE POSITIVE' if (c, v) in false_positives else 'disagrees'} [{c['family']}] "
        f"ref={c['reference']!r} response={c['response']!r} -> {v}"
        for c, v in wrong
    )
    assert not false_positives, report
    assert 1 - len(wrong) / len(CASES) >= 0.97, report
    # every case as labelled, but for a time-out on a loaded machine; here as well as per family below, because
    # a mutation run maps the verdicts fixture's functions to this test (the first that requests it) only
    assert all(v[0] == c["verdict"] or v[1].startswith("timeout") for c, v in wrong), report


@pytest.mark.parametrize("family", sorted({c["family"] for c in CASES}))
def test_each_family(family, verdicts):
    """No family has a wrong verdict (ungraded by a timeout is counted in the agreement test above)."""
    rows = [(c, v) for c, v in zip(CASES, verdicts, strict=True) if c["family"] == family]
    wrong = [(c, v) for c, v in rows if v[0] != c["verdict"] and not (v[0] is None and v[1].startswith("timeout"))]
    assert not wrong, "\n".join(f"{c['response']!r} vs {c['reference']!r} -> {v}" for c, v in wrong)


# ---- the families of issue #8, one focused check each -------------------------------------------------


def test_single_choice_needs_exactly_one_letter_and_the_pronoun_is_not_option_i():
    assert check("故选：AB", "A", "single_choice") == 0.0
    assert check("Therefore, the answer is A or B.", "A", "single_choice") == 0.0
    assert check("Answer: I think it is B.", "B", "single_choice") == 1.0
    assert check("Answer: I think it is B.", "I", "single_choice") == 0.0
    assert check("Therefore, the answer is (I).", "I", "single_choice") == 1.0
    assert option_letters("I'd say A and C") == ["A", "C"]


def test_multi_choice_is_the_exact_set():
    assert check("故选：A、B、D", "ABD", "multi_choice") == 1.0
    assert check("Therefore, the answer is AB", "ABD", "multi_choice") == 0.0
    assert check("Therefore, the answer is ABCD", "ABD", "multi_choice") == 0.0


def test_numbers_keep_sign_exponent_and_root():
    assert check("Therefore, the answer is $-\\frac{1}{2}$", "0.5", "numeric") == 0.0
    assert check("Therefore, the answer is −0.5", "-0.5", "numeric") == 1.0  # U+2212 is a minus
    assert check("Therefore, the answer is −0.5", "0.5", "numeric") == 0.0
    assert check("Therefore, the answer is 1.5e-3", "1.5", "numeric") == 0.0
    assert check("Therefore, the answer is $4^{2}$", "4", "numeric") == 0.0
    assert check("Therefore, the answer is $\\sqrt{4}$", "4", "numeric") == 0.0
    assert check("Therefore, the answer is 7.5, which is 15 times $\\frac{1}{2}$", "0.5", "numeric") == 0.0
    assert check("After simplifying, we get 2.5", "2.5", "numeric") == 1.0
    assert check("So it cannot be 2.5", "2.5", "numeric") is None  # ungraded: "ambiguous: a negation ..."
    assert check("Therefore, the answer is 4, not 2", "4", "numeric") == 1.0


def test_structured_answers_keep_brackets_and_separators():
    assert check("Therefore, the answer is $[1,2]$", "$(1,2)$", "fill_blank") == 0.0
    assert check("Therefore, the answer is 12", "1,2", "fill_blank") == 0.0
    assert check("Therefore, the answer is 2, 1", "1,2", "fill_blank") == 0.0
    assert check("Therefore, the answer is 1, 2", "1,2", "fill_blank") == 1.0


def test_ungraded_with_a_reason():
    [(ok, why)] = rule_verdicts(["Therefore, the answer is 4"], ["解: (1) ...\n证毕"], ["free_form"])
    assert (ok, why) == (None, "free-form reference: needs the judge")
    [(ok, why)] = rule_verdicts(["Therefore, the answer is 4"], ["$\\frac{$"], ["fill_blank"])
    assert ok is None and why.startswith("unparsable reference")
    [(ok, why)] = rule_verdicts(["Therefore, the answer is A"], ["甲"], ["single_choice"])
    assert ok is None and why.startswith("unparsable reference")


def test_final_answer_convention():
    assert extract_final_answer("The answer is A. Wait.\nTherefore, the answer is B. I checked.") == "B"
    assert extract_final_answer("so \\boxed{3} ... Therefore, the answer is 4") == "4"
    assert extract_final_answer("Therefore, the answer is 4 ... finally $\\boxed{5}$") == "5"
    assert extract_final_answer("综上所述，故选：C") == "C"
    assert extract_final_answer("选项A错误，选项B正确，所以选B") == "B"
    assert extract_final_answer("step\n\nThe final answer is $3.5$. Done") == "$3.5$"
    assert extract_final_answer("no marker here\nlast line 42\n\n") == "last line 42"


# ---- time bound -------------------------------------------------------------------------------------

PATHOLOGICAL = ["Therefore, the answer is $9^{9^{9}}$", "Therefore, the answer is $2^{10000000}$"]


def test_pathological_answers_are_refused_before_sympy():
    assert refusal("9^{9^{9}}") == "refused: a power tower"
    assert refusal("2^{10000000}") == "refused: an exponent above 10000"
    assert refusal("2^{100}") is None


def _timed(timeout_s: float) -> tuple[list, float]:
    rule_verdicts(["Therefore, the answer is $\\frac{1}{2}$"], ["$0.5$"], ["fill_blank"])  # worker warm
    start = time.monotonic()
    got = rule_verdicts(PATHOLOGICAL, ["4", "4"], ["numeric", "fill_blank"], timeout_s=timeout_s)
    return got, time.monotonic() - start


def test_power_tower_is_ungraded_fast_in_the_main_thread():
    got, took = _timed(0.5)
    assert [ok for ok, _ in got] == [None, None] and took < 1.0


def test_power_tower_is_ungraded_fast_in_a_worker_thread():
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(zip(("got", "took"), _timed(0.5), strict=True)))
    thread.start()
    thread.join(30)
    assert [ok for ok, _ in out["got"]] == [None, None] and out["took"] < 1.0


def test_a_huge_power_past_the_refusal_rules_is_stopped_by_the_worker_timer():
    from rlev_cli.verify.worker import math_worker

    worker = math_worker()
    worker.run([["math", "\\frac{1}{2}", ["0.5"]]], 1.0)
    start = time.monotonic()
    got = worker.run([["math", "9999999999^{99999999}", ["4"]], ["math", "\\frac{1}{2}", ["0.5"]]], 0.5)
    assert got[0] == (None, "timeout after 0.5 s") and got[1] == (True, "")
    assert time.monotonic() - start < 2 * 0.5 + 0.5


def test_a_wedged_worker_is_killed_and_replaced():
    """A worker that does not answer (stuck in C code that never returns to the interpreter; simulated by
    stopping it) is killed at 2 x timeout + 0.25 s; that answer is ungraded, the rest go to a fresh one."""
    from rlev_cli.verify.worker import math_worker

    worker = math_worker()
    worker.run([["math", "\\frac{1}{2}", ["0.5"]]], 1.0)
    before, old_pid = worker.restarts, worker._proc.pid
    os.kill(old_pid, signal.SIGSTOP)
    got = worker.run([["math", "\\frac{3}{10}", ["0.3"]], ["math", "\\frac{1}{2}", ["0.5"]]], 0.5)
    assert got[0] == (None, "timeout after 0.5 s (math worker restarted)")
    assert got[1] == (True, "") and worker.restarts == before + 1 and worker._proc.pid != old_pid
    assert not _alive(old_pid)


def test_timeout_is_configurable_and_positive():
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        rule_verdicts(["x"], ["1"], ["numeric"], timeout_s=0)


def test_works_in_a_fresh_process_and_leaves_no_worker_behind():
    code = (
        "import threading; from rlev_cli.verify import check; from rlev_cli.verify.worker import math_worker\n"
        "r = []\n"
        "t = threading.Thread(target=lambda: r.append(check('so $\\\\frac{15}{2}$', '7.5', 'numeric')))\n"
        "t.start(); t.join()\n"
        "print(r[0], check('Therefore, the answer is $(1,2]$', '$(1,2)$', 'fill_blank'), math_worker()._proc.pid)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    first, second, pid = done.stdout.split()
    assert (first, second) == ("1.0", "0.0")
    deadline = time.monotonic() + 5
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(") ", 1)[1][0] != "Z"  # a zombie has exited


def test_a_forked_child_gets_its_own_worker_and_the_parent_keeps_its_own():
    from rlev_cli.verify.worker import math_worker

    math_worker().run([["math", "\\frac{1}{2}", ["0.5"]]], 1.0)  # the parent's worker is running
    parent_worker = math_worker()._proc.pid
    child = os.fork()
    if child == 0:  # a DataLoader or process-group fork: must not talk on the parent's pipes
        got = math_worker().run([["math", "y=5x+2", ["$5 x-y+2=0$"]]], 5.0)
        os._exit(0 if got == [(True, "")] and math_worker()._proc.pid != parent_worker else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert math_worker()._proc.pid == parent_worker
    assert math_worker().run([["math", "[1,2)", ["$(1,2)$"]]], 5.0) == [(False, "")]
