"""A `rlev train` log column: the gradient each value bucket contributes on a fixed probe batch.

Hook (one line in rlev_cli/train/build.py, after the trainer is built):

    trainer.add_callback(ValueTiltCallback(trainer, reward, {r["id"]: r["value"] for r in rows}, config))

Every `every` steps it logs, into metrics.parquet, `value_tilt/grad_norm_<bucket>` for the buckets
bottom20 / middle60 / top20 (by the prompts' TRUE values, so a shuffled run shows no tilt),
`value_tilt/grad_ratio_top_bottom` under the run's reward, and `value_tilt/vs_correctness`: that ratio
divided by the same ratio with s(x) = 1 on the same batch (the tilt the values add; ≈ the s ratio for
rlev with a scale-keeping estimator, 1 for correctness/uniform and for GRPO with group scaling).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from rlev_cli.train.gradients import ProbeBatch, advantages, bucket_gradient_norms, sample_probe_batch


def estimator_of(algo: str, scale_rewards: str) -> str:
    """The analysis estimator name of a `rlev train` setting.

    >>> estimator_of("rloo", "batch"), estimator_of("grpo", "group"), estimator_of("reinforce++", "none")
    ('rloo', 'grpo_group', 'reinforce++')
    """
    if algo == "grpo":
        return f"grpo_{scale_rewards}"
    return algo


class ValueTiltCallback(TrainerCallback):
    def __init__(
        self,
        trainer: Any,
        reward: Any,
        true_values: dict[str, float],
        config: Any,
        every: int = 10,
        n_prompts: int = 32,
    ) -> None:
        self.trainer = trainer
        self.reward = reward  # rlev_cli.rewards.RlevReward: its own .scale(v) is what training applies
        self.true_values = true_values
        self.estimator = estimator_of(config.algo, config.scale_rewards)
        self.max_new_tokens = config.max_completion_length
        self.every = every
        self.n_prompts = n_prompts
        self.seed = config.seed
        self.batch: ProbeBatch | None = None
        self.seen_values: list[float] = []

    def _probe(self) -> ProbeBatch:
        dataset = self.trainer.train_dataset
        rows = [dataset[i] for i in range(min(self.n_prompts, len(dataset)))]
        g = self.trainer.num_generations
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        was_training = model.training
        model.eval()
        batch = sample_probe_batch(
            model,
            self.trainer.processing_class,
            [r["prompt"] for r in rows],
            [r["answer"] for r in rows],
            [r["qtype"] for r in rows],
            [self.true_values.get(r["id"], r["value"]) for r in rows],
            num_generations=g,
            max_new_tokens=self.max_new_tokens,
            seed=self.seed,
        )
        model.train(was_training)
        self.seen_values = [float(r["value"]) for r in rows for _ in range(g)]  # what the reward sees
        return batch

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.global_step % self.every:
            return
        if self.batch is None:
            self.batch = self._probe()
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        batch = self.batch
        correct = torch.tensor(batch.correct, dtype=torch.float32)
        lengths = batch.completion_mask.sum(1)
        g = batch.num_generations
        scales = torch.tensor([float(self.reward.scale(v)) for v in self.seen_values])
        with_values = bucket_gradient_norms(model, batch, advantages(scales * correct, g, self.estimator, lengths))
        plain = bucket_gradient_norms(model, batch, advantages(correct, g, self.estimator, lengths))
        metrics = self.trainer._metrics["train"]  # TRL averages these into the next log row
        for name, norm in with_values.items():
            metrics[f"value_tilt/grad_norm_{name}"].append(norm)
        if with_values.get("bottom20") and plain.get("bottom20") and plain.get("top20"):  # no 0/0 on all-wrong
            ratio = with_values["top20"] / with_values["bottom20"]
            metrics["value_tilt/grad_ratio_top_bottom"].append(ratio)
            metrics["value_tilt/vs_correctness"].append(ratio / (plain["top20"] / plain["bottom20"]))
