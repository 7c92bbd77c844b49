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
3. The external set (tests/verify/external/, responses that real models wrote, labels from their sources
   after the hand reading): agreement, false positives and misses for rlev and, on the math cases, for
   math-verify alone side by side, per source and per failure family; and the speed on its long
   chain-of-thought math responses (math qtypes, >= 600 characters): rlev's answers/s next to math-verify
   alone's in the same run, on one core. An answer left ungraded because of the response (refused,
   timed out, ambiguous: `ungraded_cause` "response") counts as wrong, as in training and Acc/H-Acc.
Targets (issue #8): 0 false positives, >= 97 % agreement, >= 5,000 typical answers/s. Issue #15, on the
external set: 0 false positives, >= 97 % agreement, rlev >= math-verify alone on the math cases, and
rlev >= 1.0x math-verify alone's speed on the long chain-of-thought math responses.
Usage: python benchmarks/verifier.py [--answers 20000] [--external tuned|heldout|both|none] [--json FILE]
The held-out half is measured once, at the end (--external heldout); tuning looks at the tuned half only.
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
EXTERNAL = Path(__file__).resolve().parents[1] / "tests" / "verify" / "external"
LONG_COT_CHARS = 600  # a math response at least this long is "long chain-of-thought" for the speed figure
# ungraded because of the response counts as wrong (issue #15, item 6); the verifier's ungraded_cause
# decides, with these prefixes as the fallback for a verifier that predates it
_RESPONSE_REASONS = ("refused:", "timeout after", "ambiguous:", "math check failed")
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


def effective(verdict: bool | None, reason: str) -> bool | None:
    """The verdict as training and Acc/H-Acc count it: ungraded because of the response is wrong."""
    if verdict is not None:
        return verdict
    try:
        from rlev_cli.verify.check import ungraded_cause  # type: ignore[attr-defined]

        cause = ungraded_cause(reason)
    except ImportError:
        cause = "response" if reason.startswith(_RESPONSE_REASONS) else "reference"
    return False if cause == "response" else None


def load_external(half: str) -> list[dict]:
    path = EXTERNAL / f"{half}.jsonl"
    if not path.exists():
        raise SystemExit(f"Error: {path} is missing (python tests/verify/external/build.py writes it)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def math_verify_external(cases: list[dict]) -> list[bool | None]:
    """math-verify alone as a user calls it: `verify(parse(gold), parse(response))`, the reference parsed
    whole (its \\boxed{} found by math-verify itself; `$…$` added around a bare one), its own extraction and
    timeouts, in the main thread."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    out: list[bool | None] = []
    for case in cases:
        gold_text = case["reference"].strip()
        if "$" not in gold_text and "\\boxed" not in gold_text:
            gold_text = f"${gold_text}$"
        gold = parse(gold_text, extraction_config=configs, parsing_timeout=1)
        pred = parse(case["response"], extraction_config=configs, parsing_timeout=1)
        out.append(bool(verify(gold, pred, timeout_seconds=1)) if gold else None)
    return out


def external_report(half: str, cases: list[dict], timeout_s: float) -> dict:
    """rlev and math-verify alone on one half of the external set: overall, per source, per family."""
    from rlev_cli.verify import rule_verdicts

    raw = rule_verdicts(
        [c["response"] for c in cases],
        [c["reference"] for c in cases],
        [c["qtype"] for c in cases],
        timeout_s=timeout_s,
    )
    ours = [effective(v, why) for v, why in raw]
    is_math = [c["qtype"] in MATH_QTYPES for c in cases]
    math_idx = [i for i, m in enumerate(is_math) if m]
    alone_math = math_verify_external([cases[i] for i in math_idx])
    alone: list[bool | str | None] = ["-"] * len(cases)
    for i, v in zip(math_idx, alone_math, strict=True):
        alone[i] = v
    labels = [c["label"] for c in cases]

    def pick(idx: list[int]) -> dict:
        row = {"rlev": tally([ours[i] for i in idx], [labels[i] for i in idx]) if idx else None}
        m = [i for i in idx if is_math[i]]
        row["rlev_math"] = tally([ours[i] for i in m], [labels[i] for i in m]) if m else None
        row["math_verify_math"] = tally([alone[i] for i in m], [labels[i] for i in m]) if m else None  # type: ignore[misc]
        return row

    everything = list(range(len(cases)))
    by_source: dict[str, list[int]] = {}
    by_family: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        by_source.setdefault(c["source"], []).append(i)
        for family in c["families"]:
            by_family.setdefault(family, []).append(i)
    wrong = [
        {"id": c["id"], "label": c["label"], "rlev": ours[i], "reason": raw[i][1]}
        for i, c in enumerate(cases)
        if ours[i] != c["label"]
    ]
    return {
        "half": half,
        "cases": len(cases),
        "overall": pick(everything),
        "by_source": {k: pick(v) for k, v in sorted(by_source.items())},
        "by_family": {k: pick(v) for k, v in sorted(by_family.items())},
        "rlev_false_positives": [w["id"] for w in wrong if w["rlev"] is True],
        "rlev_disagreements": wrong,
    }


def print_external(report: dict) -> None:
    def cells(t: dict | None) -> str:
        if t is None:
            return f"{'':>6} {'':>7} {'':>6} {'':>6}"
        return f"{t['n']:>6} {t['agree']:>7.1%} {t['fp']:>6} {t['miss']:>6}"

    o = report["overall"]
    print(
        f"\nexternal set, {report['half']} half: {report['cases']} responses real models wrote "
        "(labels after the hand reading)"
    )
    print(f"{'verifier':34} {'cases':>6} {'agree':>7} {'false+':>7} {'misses':>7} {'ungraded':>9}")
    for name, t in (
        ("rlev rule verifier, all cases", o["rlev"]),
        ("rlev rule verifier, math cases", o["rlev_math"]),
        ("math-verify alone, math cases", o["math_verify_math"]),
    ):
        if t is not None:
            print(f"{name:34} {t['n']:>6} {t['agree']:>7.1%} {t['fp']:>7} {t['miss']:>7} {t['ungraded']:>9}")
    head = f"{'':46} {'rlev, all cases':^28} | {'rlev, math cases':^28} | {'math-verify alone, math':^28}"
    sub = f"{'':46} " + " | ".join([f"{'cases':>6} {'agree':>7} {'false+':>6} {'misses':>6}"] * 3)
    for title, rows in (("per source", report["by_source"]), ("per family", report["by_family"])):
        print(f"{title}\n{head}\n{sub}")
        for name, row in rows.items():
            print(f"{name[:46]:46} " + " | ".join(cells(row[k]) for k in ("rlev", "rlev_math", "math_verify_math")))
    if report["rlev_false_positives"]:
        print("rlev false positives: " + ", ".join(report["rlev_false_positives"]))


def long_cot_speed(cases: list[dict]) -> dict:
    """rlev's answers/s next to math-verify alone's on the long chain-of-thought math responses, both on
    this core, each with its default time limit (rlev 1 s per answer, as training uses it), rlev's caches
    cleared and its worker warm, math-verify parsing each gold and response."""
    from rlev_cli.verify import check as check_module
    from rlev_cli.verify import rule_verdicts

    long_math = [c for c in cases if c["qtype"] in MATH_QTYPES and len(c["response"]) >= LONG_COT_CHARS]
    rule_verdicts(["x = 1"], ["1"], ["fill_blank"])  # the worker is started and warm
    for name in ("_CACHE", "_JOB_CACHE"):
        cache = getattr(check_module, name, None)
        if cache is not None:
            cache.clear()
    start = time.perf_counter()
    rule_verdicts(
        [c["response"] for c in long_math],
        [c["reference"] for c in long_math],
        [c["qtype"] for c in long_math],
    )
    took_rlev = time.perf_counter() - start
    start = time.perf_counter()
    math_verify_external(long_math)
    took_alone = time.perf_counter() - start
    n = len(long_math)
    return {
        "responses": n,
        "mean_chars": round(sum(len(c["response"]) for c in long_math) / max(n, 1)),
        "rlev_per_s": n / took_rlev,
        "math_verify_per_s": n / took_alone,
        "ratio": took_alone / took_rlev,
    }


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
    parser.add_argument(
        "--external",
        choices=("tuned", "heldout", "both", "none"),
        default="tuned",
        help="which half of tests/verify/external to report (the held-out half: once, at the end)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="per-answer time limit on the external set")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()
    figures: dict = {"load_average_start": os.getloadavg()[0], "cpus": os.cpu_count()}
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
    figures["labelled"] = dict(rows)

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
    figures["typical_mix"] = {
        "answers": len(mix),
        "answers_per_s": len(mix) / took,
        "in_process_per_s": len(fast) / took_fast,
    }

    halves = {"both": ["tuned", "heldout"], "none": []}.get(args.external, [args.external])
    figures["external"] = {}
    for half in halves:
        cases = load_external(half)
        speed = long_cot_speed(cases)  # first: nothing of this half is cached yet
        report = external_report(half, cases, args.timeout)
        report["long_cot_speed"] = speed
        print_external(report)
        print(
            f"speed, long chain-of-thought math ({speed['responses']} responses of >= {LONG_COT_CHARS} characters, "
            f"{speed['mean_chars']:,} on average; one core): rlev {speed['rlev_per_s']:,.1f} answers/s, "
            f"math-verify alone {speed['math_verify_per_s']:,.1f} answers/s: {speed['ratio']:.2f}x\n"
            f"  machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        figures["external"][half] = report
    figures["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
