"""The rule verifier against the labelled set, side by side with math-verify alone, and its throughput.

1. Agreement with the human verdicts of tests/verify/labelled.jsonl, false positives (accepted though
   wrong) and misses (a right answer rejected or left ungraded), for `rule_verdicts`; and, on the math
   subset (numeric, fill-in, boxed free-form), for math-verify alone: `verify(parse(gold), parse(response))`
   with the gold parsed as LaTeX (`$…$`) or plain, as it comes, and math-verify's own extraction and
   timeouts (in the main thread, where its signals work).
2. Throughput on one core (this process and the math worker pinned to one CPU): a typical mix of answers,
   drawn from the labelled set by the fixtures' qtype shares (ingested: 126 single choice, 29 numeric,
   26 multiple choice, 19 several-slot, 15 free-form, 6 fill-in), each response made distinct (a
   different reasoning line) so the verdict cache does not help.
Targets (issue #8): 0 false positives, >= 97 % agreement, >= 5,000 typical answers/s.
Usage: python benchmarks/verifier.py [--answers 20000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from pathlib import Path

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "verify" / "labelled.jsonl"
TYPICAL_SHARES = {
    "single_choice": 126,
    "numeric": 29,
    "multi_choice": 26,
    "slots": 19,
    "free_form": 15,
    "fill_blank": 6,
}
MATH_QTYPES = ("numeric", "fill_blank", "free_form")


def tally(verdicts: list[bool | None], labels: list[bool | None]) -> dict[str, float]:
    agree = sum(v == h for v, h in zip(verdicts, labels, strict=True))
    false_pos = sum(v is True and h is not True for v, h in zip(verdicts, labels, strict=True))
    misses = sum(h is True and v is not True for v, h in zip(verdicts, labels, strict=True))
    ungraded = sum(v is None for v in verdicts)
    return {"n": len(labels), "agree": agree / len(labels), "fp": false_pos, "miss": misses, "ungraded": ungraded}


def math_verify_alone(cases: list[dict]) -> list[bool | None]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    from rlev_cli.verify.extract import last_boxed

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    out: list[bool | None] = []
    for case in cases:
        gold_text = case["reference"].strip()
        if case["qtype"] == "free_form":
            boxed = last_boxed(gold_text)
            if boxed is None:
                out.append(None)
                continue
            gold_text = boxed
        if "$" not in gold_text:
            gold_text = f"${gold_text}$"
        gold = parse(gold_text, extraction_config=configs, parsing_timeout=1)
        pred = parse(case["response"], extraction_config=configs, parsing_timeout=1)
        out.append(bool(verify(gold, pred, timeout_seconds=1)) if gold else None)
    return out


def typical_mix(cases: list[dict], n: int, seed: int = 0) -> list[dict]:
    pools: dict[str, list[dict]] = {}
    for case in cases:
        kind = "slots" if case["qtype"] == "single_choice" and "," in case["reference"] else case["qtype"]
        if kind == "free_form" and case["verdict"] is not None:
            continue  # the fixtures' free-form references are all worked solutions
        pools.setdefault(kind, []).append(case)
    rng = random.Random(seed)
    kinds = rng.choices(list(TYPICAL_SHARES), weights=list(TYPICAL_SHARES.values()), k=n)
    mix = []
    for i, kind in enumerate(kinds):
        case = rng.choice(pools[kind])
        mix.append({**case, "response": f"Step {i}: work through the question.\n{case['response']}"})
    return mix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=20_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core; the worker inherits it
    from rlev_cli.verify import rule_verdicts

    cases = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    labels = [c["verdict"] for c in cases]
    ours = [
        ok
        for ok, _ in rule_verdicts(
            [c["response"] for c in cases], [c["reference"] for c in cases], [c["qtype"] for c in cases]
        )
    ]
    math_cases = [(c, v) for c, v in zip(cases, ours, strict=True) if c["qtype"] in MATH_QTYPES]
    alone = math_verify_alone([c for c, _ in math_cases])
    rows = [
        ("rlev rule verifier, all cases", tally(ours, labels)),
        ("rlev rule verifier, math subset", tally([v for _, v in math_cases], [c["verdict"] for c, _ in math_cases])),
        ("math-verify alone, math subset", tally(alone, [c["verdict"] for c, _ in math_cases])),
    ]
    print(f"{'verifier':34} {'cases':>6} {'agree':>7} {'false+':>7} {'misses':>7} {'ungraded':>9}")
    for name, t in rows:
        print(f"{name:34} {t['n']:>6} {t['agree']:>7.1%} {t['fp']:>7} {t['miss']:>7} {t['ungraded']:>9}")

    mix = typical_mix(cases, args.answers)
    responses, references, qtypes = ([m[k] for m in mix] for k in ("response", "reference", "qtype"))
    rule_verdicts(responses[:50], references[:50], qtypes[:50])  # the worker is started and warm
    from rlev_cli.verify.check import _CACHE, _JOB_CACHE, _rule_or_job
    from rlev_cli.verify.worker import math_worker

    _CACHE.clear()
    _JOB_CACHE.clear()
    start = time.perf_counter()
    got = rule_verdicts(responses, references, qtypes)
    took = time.perf_counter() - start
    outcomes = [_rule_or_job(r, a, q) for r, a, q in zip(responses, references, qtypes, strict=True)]
    jobs = [o for o in outcomes if isinstance(o, list)]
    fast = [m for m, o in zip(mix, outcomes, strict=True) if not isinstance(o, list)]
    _CACHE.clear()
    start = time.perf_counter()
    rule_verdicts([m["response"] for m in fast], [m["reference"] for m in fast], [m["qtype"] for m in fast])
    took_fast = time.perf_counter() - start
    unique = list({repr(j): j for j in jobs}.values())
    start = time.perf_counter()
    math_worker().run(unique, 1.0)
    took_jobs = time.perf_counter() - start
    timed_out = sum(v is None and w.startswith("timeout") for v, w in got)
    print(
        f"throughput, typical mix on one core: {len(mix) / took:,.0f} answers/s ({len(mix)} answers in "
        f"{took:.2f} s; {sum(v is None for v, _ in got)} ungraded, {timed_out} of them timed out)\n"
        f"  in-process (letters, plain numbers, exact forms, text): {len(fast) / took_fast:,.0f} answers/s "
        f"({len(fast)} answers)\n"
        f"  math-verify worker: {len(unique) / took_jobs:,.0f} distinct answers/s ({len(jobs)} answers, "
        f"{len(jobs) / len(mix):.1%} of the mix, {len(unique)} distinct final answers)\n"
        f"  machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
