"""Scoring throughput on 100k responses, and generation throughput of `rlev evaluate`'s backend against
the raw backend call on the same prompts, in one run.

Targets (issue #5): scoring >= 20k responses/s; generation ratio rlev / raw >= 0.9.
Usage: python benchmarks/eval_speed.py [--responses 100000] [--prompts 64] [--backend hf]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

OOD = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ood"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def scoring(n: int) -> None:
    from rlev_cli.evaluate.benchmarks import load_items
    from rlev_cli.evaluate.core import indomain_items, indomain_rows, score
    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig

    with tempfile.TemporaryDirectory() as tmp:
        run_ingest(
            [EXAMPLES / "exams"],
            IngestConfig(
                out=Path(tmp),
                scheme=EXAMPLES / "jee_scheme.json",
                totals=EXAMPLES / "jee_totals.csv",
                test_fraction=0.5,
            ),
        )
        from rlev_cli.evaluate.config import EvalConfig

        config = EvalConfig(workspace=Path(tmp))
        items = indomain_items(indomain_rows(config), config)
    for name in ("mmlu_pro", "ceval", "supergpqa"):
        items += load_items(name, OOD, 0)[0]
    rng = random.Random(0)
    templates = [
        "Let me think step by step. ... Therefore, the answer is {g}.",
        "答案是{g}。",
        "Reasoning\nAnswer: {g}",
        "I am not sure, maybe it is {g} or something else entirely; the answer is ({g})",
    ]
    batch = [items[i % len(items)] for i in range(n)]
    outputs = {}
    for k, item in enumerate(batch):
        outputs[(item.benchmark, item.id)] = {
            "text": rng.choice(templates).format(g=item.gold if k % 2 else "A"),
            "tokens": 20,
        }
    by_bench: dict[str, list] = {}
    for item in batch:
        by_bench.setdefault(item.benchmark, []).append(item)
    start = time.perf_counter()
    scored = sum(len(score("m", its, outputs)) for its in by_bench.values())
    seconds = time.perf_counter() - start
    print(f"scoring: {scored:,} responses in {seconds:.2f} s = {scored / seconds:,.0f}/s (target >= 20,000/s)")


def generation(n_prompts: int, max_new_tokens: int) -> None:
    import torch

    from rlev_cli.generate import HFBackend, render
    from rlev_cli.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_model(Path(tmp) / "tiny", seed=0)
        backend = HFBackend(str(path), batch_size=8, max_new_tokens=max_new_tokens)
        prompts = [[{"role": "user", "content": f"Question {k}: what is {k} + {k}?"}] for k in range(n_prompts)]
        times = {}
        for name in ("raw", "rlev", "raw (again)", "rlev (again)"):
            start = time.perf_counter()
            if name.startswith("rlev"):
                backend.generate(prompts)
            else:  # the raw backend call: tokenizer + model.generate on the same batches, nothing else
                tok, model = backend.tokenizer, backend.model
                for i in range(0, n_prompts, 8):
                    enc = tok(
                        [render(tok, p) for p in prompts[i : i + 8]],
                        return_tensors="pt",
                        padding=True,
                        add_special_tokens=False,
                    )
                    with torch.no_grad():
                        out = model.generate(
                            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
                        )
                    tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            times[name] = time.perf_counter() - start
    raw, ours = min(times["raw"], times["raw (again)"]), min(times["rlev"], times["rlev (again)"])
    tokens = n_prompts * max_new_tokens
    print(
        f"generation (hf backend, tiny model, {n_prompts} prompts x {max_new_tokens} tokens): raw {tokens / raw:,.0f} "
        f"tok/s, rlev {tokens / ours:,.0f} tok/s; ratio rlev / raw = {raw / ours:.3f} (target >= 0.9)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()
    scoring(args.responses)
    generation(args.prompts, args.max_new_tokens)


if __name__ == "__main__":
    main()
