"""One `rlev train` step with vLLM generation (`--vllm colocate`) against transformers generation, same batch.

Both runs are `build_trainer` as `rlev train` builds it (GRPO, the same config, data and seed, so the same
prompts), two optimizer steps each; a step is generation (with the weight sync for vLLM) + rewards +
log-probs + backward + optimizer. Reported apart: building the trainer (model load; vLLM's engine start).
The ratio is step 2's (steady state: step 1 also pays first-call costs). Runs in the vLLM environment
(vLLM's CPU build on a CPU machine; .ci/run builds one), with the real model by default:

    VLLM_ENV/bin/python benchmarks/vllm_train_step.py [--model smollm2-135m-instruct|PATH] [--threads 1]
"""

from __future__ import annotations

import argparse
import functools
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def timed(owner: Any, name: str, seconds: list[float]) -> None:
    """Add the wall time of each call of owner.<name> (an object's or a class's method) to `seconds`."""
    method = getattr(owner, name)

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m-instruct", help="a model rlev resolves, or an HF folder")
    parser.add_argument("--batch-size", type=int, default=8, help="completions per step (2 prompts x 4)")
    parser.add_argument("--completion-length", type=int, default=64)
    parser.add_argument("--prompt-length", type=int, default=1024, help="prompts over this many tokens left out")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training, both runs")
    args = parser.parse_args()
    import torch
    from trl.generation.vllm_generation import VLLMGeneration

    import rlev_cli.train.trainers  # noqa: F401  (imports TRL: not counted in the first build)
    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig
    from rlev_cli.tiny import resolve_model
    from rlev_cli.train.build import build_trainer
    from rlev_cli.train.config import TrainConfig

    engine_start: list[float] = []
    timed(VLLMGeneration, "_init_vllm", engine_start)  # the LLM(...) TRL builds in colocate mode

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        run_ingest(
            [EXAMPLES / "exams"],
            IngestConfig(out=ws, scheme=EXAMPLES / "jee_scheme.json", totals=EXAMPLES / "jee_totals.csv"),
        )
        model = resolve_model(args.model, ws)
        for backend in ("none", "colocate"):
            config = TrainConfig(
                data=ws / "questions.parquet",
                model=model,
                algo="grpo",
                vllm=backend,
                max_steps=2,
                batch_size=args.batch_size,
                max_completion_length=args.completion_length,
                max_prompt_length=args.prompt_length,
                save_steps=10_000,
                output=ws / f"run-{backend}",
            )
            torch.set_num_threads(args.threads)
            start = time.perf_counter()
            trainer, _ = build_trainer(config, ws / "questions.parquet", model, ws / f"run-{backend}")
            build_s = time.perf_counter() - start
            torch.set_num_threads(args.threads)  # vLLM's CPU worker binds its own OpenMP threads
            generation: list[float] = []
            timed(trainer, "_generate_single_turn", generation)
            trainer.train()
            metrics = [m for m in trainer.run_log.metrics if "step_time" in m]
            results[backend] = {
                "build": build_s,
                "steps": [m["step_time"] for m in metrics],
                "generation": generation,
                "tokens": [m.get("completions/mean_length") for m in metrics],
                "logp_diff": [m.get("sampling/sampling_logp_difference/mean") for m in metrics],
            }
            del trainer
            gc.collect()  # the first run's model and optimizer go before the second run's
    print(
        f"model {args.model}, GRPO, {args.batch_size} completions x <= {args.completion_length} tokens per step, "
        f"prompts <= {args.prompt_length} tokens,"
    )
    print(f"cpu fp32, {args.threads} torch thread(s) for training")
    for backend, label in (("none", "transformers generate"), ("colocate", "vLLM colocate")):
        r = results[backend]
        steps = ", ".join(f"{s:.1f}" for s in r["steps"])
        gen = ", ".join(f"{s:.1f}" for s in r["generation"])
        tokens = ", ".join(f"{t:.0f}" for t in r["tokens"] if t is not None)
        print(f"  {label:22s} build {r['build']:6.1f} s | step times {steps} s | of which generation {gen} s")
        print(f"  {'':22s} mean completion length {tokens} tokens")
    diffs = [d for d in results["colocate"]["logp_diff"] if d is not None]
    if diffs:
        print(f"  vLLM vs trainer log-prob difference (TRL's sampling_logp_difference/mean): {diffs}")
    hf, vllm = results["none"], results["colocate"]
    print(f"vLLM engine start (inside the vLLM build): {engine_start[0]:.1f} s")
    print(f"step 2 time ratio vLLM / transformers: {vllm['steps'][-1] / hf['steps'][-1]:.2f}")
    print(f"step 2 generation ratio vLLM / transformers: {vllm['generation'][-1] / hf['generation'][-1]:.2f}")


if __name__ == "__main__":  # vLLM starts worker processes: the entry point must be guarded
    main()
