"""Step time of `rlev train` against bare TRL with the same model, data and TRL config, in one run.

Bare TRL = RLOOTrainer/GRPOTrainer with a plain reward function (the same verifier and s(x)) and no
rlev callbacks; rlev = `build_trainer` (rollout log, metrics.parquet, advantage recording, progress).
Target (issue #4): ratio <= 1.05. With CUDA present, a bf16 run also reports steps/s and tokens/s.
Usage: python benchmarks/train_overhead.py [--algo rloo] [--steps 20] [--model tiny]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def plain_reward(prompts, completions, answer, qtype, value, **kwargs):
    from rlev_cli.rewards import value_scale
    from rlev_cli.verify.grade import Grader

    texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
    verdicts = Grader("rule").grade(kwargs.get("question") or texts, texts, answer, qtype)
    return [None if v.correct is None else v.correct * value_scale(x) for v, x in zip(verdicts, value, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algo", default="rloo", choices=["rloo", "grpo", "reinforce++"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--completion-length", type=int, default=32)
    args = parser.parse_args()
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig
    from rlev_cli.tiny import load_tokenizer, resolve_model
    from rlev_cli.train.build import build_trainer, trl_common
    from rlev_cli.train.config import TrainConfig
    from rlev_cli.train.data import load_train_rows, to_prompts

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        run_ingest(
            [EXAMPLES / "exams"],
            IngestConfig(out=ws, scheme=EXAMPLES / "jee_scheme.json", totals=EXAMPLES / "jee_totals.csv"),
        )
        model = resolve_model(args.model, ws)
        config = TrainConfig(
            data=ws / "questions.parquet",
            model=model,
            algo=args.algo,
            max_steps=args.steps,
            max_completion_length=args.completion_length,
            learning_rate=1e-5,
            save_steps=10_000,
            logging_steps=1,
            kl_coef=0.0,
            output=ws / "rlev-run",
        )
        cuda = torch.cuda.is_available()
        times = {}
        for name in ("bare TRL", "rlev", "bare TRL (again)", "rlev (again)"):  # interleaved: fair to warm caches
            run_dir = ws / name.replace(" ", "_").replace("(", "").replace(")", "")
            if name.startswith("rlev"):
                trainer, _ = build_trainer(config, config.data, model, run_dir)
            else:
                tokenizer = load_tokenizer(model)
                rows = load_train_rows(config.data, "value").rows
                prompts, _, _ = to_prompts(rows, config.system_prompt, "rlev", 10.0, 0, tokenizer, 1024)
                common = trl_common(config, run_dir, cuda)
                cls, trl_args = (
                    (RLOOTrainer, RLOOConfig(**common, normalize_advantages=False))
                    if args.algo == "rloo"
                    else (
                        GRPOTrainer,
                        GRPOConfig(
                            **common, scale_rewards="none" if args.algo != "grpo" else "batch", loss_type="dapo"
                        ),
                    )
                )
                trainer = cls(
                    model=model,
                    reward_funcs=plain_reward,
                    args=trl_args,
                    train_dataset=Dataset.from_list(prompts),
                    processing_class=tokenizer,
                )
            start = time.perf_counter()
            trainer.train()
            times[name] = time.perf_counter() - start
            tokens = max((h.get("num_tokens", 0) for h in trainer.state.log_history), default=0)  # cumulative
        bare = min(times["bare TRL"], times["bare TRL (again)"])
        ours = min(times["rlev"], times["rlev (again)"])
    print(f"{args.algo}, {args.steps} steps, model {args.model}, {'cuda bf16' if cuda else 'cpu fp32'}")
    for name, seconds in times.items():
        print(f"  {name:18s} {seconds:7.2f} s  ({args.steps / seconds:.2f} steps/s)")
    print(f"step-time ratio rlev / bare TRL (best of two each): {ours / bare:.3f} (target <= 1.05)")
    if cuda:
        print(f"tokens processed: {tokens:,.0f}; {tokens / ours:,.0f} tokens/s; {args.steps / ours:.2f} steps/s")


if __name__ == "__main__":
    main()
