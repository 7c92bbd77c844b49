"""`--recipe paper`: the training schedule of the RLEV paper (arXiv 2510.20187 §3.2) and its recipe paper's
Table 9 (other settings: OpenRLHF's defaults of that time), as one table that the TRL configuration, the
docs (docs/training.md) and the tests all read.

A rollout is `rollout_prompts` prompts x `num_generations` samples; an optimizer step trains on a quarter of
it (paper: 128 x 4 = 512 completions, train batch 128), so TRL generates once every 4 optimizer steps
(`steps_per_generation`) and REINFORCE++ whitens over the whole rollout. Fewer prompts keep every ratio.
"""

from __future__ import annotations

from typing import Any

PAPER_ROLLOUT_PROMPTS = 128
OPTIMIZER_STEPS_PER_ROLLOUT = 4  # 512 completions per rollout / train batch 128

# TrainConfig fields the recipe fixes: (field, value, source). Giving another value is allowed (a scaled-down
# run), printed at the start and recorded in the manifest as a deviation.
PAPER_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("num_generations", 4, "recipe paper Table 9 (n_samples_per_prompt)"),
    ("learning_rate", 5e-7, "paper §3.2; Table 9 (actor_learning_rate)"),
    ("epochs", 1.0, "paper §3.2 ('one epoch'): passes over the prompts, OpenRLHF's num_episodes (default 1)"),
    ("max_steps", -1, "paper: one epoch, no step cap"),
    ("kl_coef", 0.01, "recipe paper Table 9 (init_kl_coef), k1 in the reward"),
    ("temperature", 1.0, "OpenRLHF default"),
    ("epsilon", 0.2, "OpenRLHF default eps_clip"),
    ("max_prompt_length", 1024, "paper §3.2; Table 9 (prompt_max_len)"),
    ("max_completion_length", 1024, "paper §3.2; Table 9 (generate_max_len)"),
)

# TRL settings the recipe sets (GRPOConfig / RLOOConfig names), with their source.
PAPER_TRL: tuple[tuple[str, Any, str], ...] = (
    ("lr_scheduler_type", "cosine_with_min_lr", "OpenRLHF default (cosine_with_min_lr)"),
    ("lr_scheduler_kwargs", {"min_lr_rate": 0.1}, "OpenRLHF default: floor 0.1 x lr"),
    ("warmup_steps", 0.03, "OpenRLHF default lr_warmup_ratio 0.03 (a float < 1 is a ratio in transformers)"),
    ("adam_beta1", 0.9, "OpenRLHF default adam_betas (0.9, 0.95)"),
    ("adam_beta2", 0.95, "OpenRLHF default adam_betas (0.9, 0.95)"),
    ("num_iterations", 1, "recipe paper Table 9 (max_epochs 1): OpenRLHF's optimizer passes over each rollout"),
    ("max_grad_norm", 1.0, "OpenRLHF default"),
)


def recipe_batch(rollout_prompts: int, num_generations: int, num_processes: int, accumulation: int) -> dict[str, int]:
    """Per-device batch and steps_per_generation for a rollout of `rollout_prompts` prompts.

    >>> recipe_batch(128, 4, 8, 2)
    {'rollout_completions': 512, 'train_batch': 128, 'per_device_train_batch_size': 8, 'steps_per_generation': 8}
    >>> recipe_batch(2, 4, 1, 1)
    {'rollout_completions': 8, 'train_batch': 2, 'per_device_train_batch_size': 2, 'steps_per_generation': 4}
    """
    from rlev_cli.errors import RlevError

    rollout = rollout_prompts * num_generations
    if rollout % OPTIMIZER_STEPS_PER_ROLLOUT:
        raise RlevError(
            f"--rollout-prompts {rollout_prompts} x --num-generations {num_generations} = {rollout} completions "
            f"do not split into {OPTIMIZER_STEPS_PER_ROLLOUT} optimizer steps; use a multiple of 4 completions"
        )
    train_batch = rollout // OPTIMIZER_STEPS_PER_ROLLOUT
    if train_batch % (num_processes * accumulation):
        raise RlevError(
            f"--recipe paper: a train batch of {train_batch} completions (rollout / 4) does not split over "
            f"{num_processes} process(es) x {accumulation} accumulation step(s); change --rollout-prompts"
        )
    return {
        "rollout_completions": rollout,
        "train_batch": train_batch,
        "per_device_train_batch_size": train_batch // (num_processes * accumulation),
        # TRL counts micro-batches: one generation feeds 4 optimizer steps of `accumulation` micro-batches each
        "steps_per_generation": OPTIMIZER_STEPS_PER_ROLLOUT * accumulation,
    }
