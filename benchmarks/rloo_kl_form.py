"""How far TRL's RLOO advantages are from OpenRLHF's `rloo`, measured inside a real `rlev train --algo rloo` run.

TRL (what rlev runs): r' = r − β Σ_t k1_t per completion, A = r' − mean of the other G−1 r', one scalar per
completion (every token of it gets A). OpenRLHF: A_t = (r − mean of the other G−1 r) − β Σ_{u≥t} k1_u, a
per-token reward-to-go. With K_i = Σ_t k1_{i,t} the two differ on token t of completion i by exactly

    A_TRL − A_OpenRLHF = β · (mean_{j≠i} K_j − Σ_{u<t} k1_{i,u})

so the gap grows with β times the KL summed over a completion, whatever the rewards. The run: the bundled
examples, the tiny model, 4 samples per prompt, 8 completions per step, lr 1e-3 (so the policy drifts from
the reference and the KL is not 0), grading replaced by a fixed pattern per group (correct, correct, wrong,
wrong: the tiny model never answers right). Every rollout after the first is compared token by token.

Usage: python benchmarks/rloo_kl_form.py [--beta 0.05] [--steps 12] [--completion-length 32]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def token_logps(model, batch):
    import torch

    prompt, completion = batch["prompt_ids"], batch["completion_ids"]
    ids = torch.cat([prompt, completion], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=attention).logits.float()[:, prompt.size(1) - 1 : -1]
    return torch.log_softmax(logits, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beta", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--completion-length", type=int, default=32)
    args = parser.parse_args()
    import torch

    from rlev_cli.ingest import run_ingest
    from rlev_cli.ingest.config import IngestConfig
    from rlev_cli.tiny import resolve_model
    from rlev_cli.train.build import build_trainer
    from rlev_cli.train.config import TrainConfig
    from rlev_cli.verify.grade import Grader, Verdict

    def grade(self, questions, responses, references, qtypes):
        return [Verdict(i % 4 < 2, "rule") for i in range(len(responses))]

    Grader.grade = grade  # type: ignore[method-assign]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        run_ingest(
            [EXAMPLES / "exams"],
            IngestConfig(out=ws, scheme=EXAMPLES / "jee_scheme.json", totals=EXAMPLES / "jee_totals.csv"),
        )
        model = resolve_model("tiny", ws)
        config = TrainConfig(
            data=ws / "questions.parquet", model=model, algo="rloo", kl_coef=args.beta, max_steps=args.steps,
            max_completion_length=args.completion_length, learning_rate=1e-3, save_steps=10_000,
            output=ws / "run",
        )  # fmt: skip
        trainer, _ = build_trainer(config, config.data, model, ws / "run")
        generate = trainer._generate_and_score_completions
        gaps: list[float] = []
        advantages: list[float] = []
        kl_per_token: list[float] = []
        kl_per_completion: list[float] = []

        def capture(inputs):
            batch = generate(inputs)
            mask = batch["completion_mask"].float()
            k1 = (token_logps(trainer.model, batch) - token_logps(trainer.ref_model, batch)) * mask
            rewards = torch.tensor([row["reward"] for row in trainer.rollout_log.last_batch])
            if trainer.state.global_step == 0:  # first rollout: policy = reference, KL 0
                return batch
            group = rewards.view(-1, 4)
            loo = ((group.sum(1, keepdim=True) - group) / 3).view(-1)
            reward_to_go = k1.flip(-1).cumsum(-1).flip(-1)
            openrlhf = ((rewards - loo)[:, None] - args.beta * reward_to_go) * mask
            trl = batch["advantages"][:, None] * mask
            valid = mask.bool()
            gaps.extend((trl - openrlhf)[valid].abs().tolist())
            advantages.extend(openrlhf[valid].abs().tolist())
            kl_per_token.extend(k1[valid].abs().tolist())
            kl_per_completion.extend(k1.sum(1).abs().tolist())
            return batch

        trainer._generate_and_score_completions = capture  # type: ignore[method-assign]
        trainer.train()

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    print(f"beta {args.beta}, {args.steps - 1} rollouts compared, {len(gaps)} tokens")
    print(
        f"|k1| per token: mean {mean(kl_per_token):.4f}; |sum of k1| per completion: mean {mean(kl_per_completion):.3f}"
    )
    print(f"|A_TRL - A_OpenRLHF| per token: mean {mean(gaps):.4f}, max {max(gaps):.4f}")
    print(f"|A_OpenRLHF| per token: mean {mean(advantages):.4f}")


if __name__ == "__main__":
    main()
