"""From a TrainConfig to a ready TRL trainer: dataset, reward function, TRL config, trainer class."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlev_cli.output import out
from rlev_cli.train.config import TrainConfig

if TYPE_CHECKING:  # trl and torch are imported when a trainer is built
    from trl import GRPOConfig, RLOOConfig

    from rlev_cli.train.logs import Progress
    from rlev_cli.train.trainers import RlevTrainer


def trl_common(config: TrainConfig, run_dir: Path, cuda: bool) -> dict[str, Any]:
    """Settings shared by GRPOConfig and RLOOConfig, named as TRL names them."""
    bf16 = cuda if config.bf16 is None else config.bf16
    common = dict(
        output_dir=str(run_dir / "checkpoints"),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        learning_rate=config.learning_rate,
        max_steps=config.max_steps,
        num_train_epochs=config.epochs,
        beta=config.kl_coef,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        seed=config.seed,
        report_to=config.report_to,
        run_name=run_dir.name,
        bf16=bf16,
        use_cpu=not cuda,
        activation_checkpointing=False,
        remove_unused_columns=False,
        log_completions=False,
        disable_tqdm=True,
        epsilon=0.2,
        # OpenRLHF defaults of the paper's period (notes/rlev-paper.md §4.2)
        lr_scheduler_type="cosine",
        warmup_steps=0.03,
        max_grad_norm=1.0,
        adam_beta2=0.95,
    )
    if config.recipe == "paper":
        from rlev_cli.train.recipe import PAPER_TRL, recipe_batch

        common.update({name: value for name, value, _ in PAPER_TRL})
        batch = recipe_batch(
            config.rollout_prompts or 0,
            config.num_generations,
            config.num_processes,
            config.gradient_accumulation_steps,
        )
        common.update(
            per_device_train_batch_size=batch["per_device_train_batch_size"],
            steps_per_generation=batch["steps_per_generation"],
        )
    if config.vllm != "none":
        common.update(use_vllm=True, vllm_mode=config.vllm)
        if config.vllm_server_url:
            common["vllm_server_base_url"] = config.vllm_server_url
    return common


def build_trainer(
    config: TrainConfig,
    data: Path,
    model: str,
    run_dir: Path,
    progress: Progress | None = None,
    resume_step: int | None = None,
) -> tuple[RlevTrainer, dict[str, Any]]:
    """The TRL trainer of a run, ready to `train()`: the train split as prompts, the value-scaled reward,
    rollout and metrics logging, and what the run manifest records about them."""
    import torch

    from rlev_cli.tiny import load_tokenizer, quiet_transformers

    quiet_transformers()

    from rlev_cli.rewards import RlevReward
    from rlev_cli.train.data import load_train_rows, to_prompts
    from rlev_cli.train.logs import RolloutLog, RunLogCallback

    tokenizer = load_tokenizer(model)
    train_rows = load_train_rows(data, config.value_column, config.max_train_samples, config.skip_bad_values)
    if train_rows.n_without_value:
        out.warn(
            f"{train_rows.n_without_value} of {train_rows.n_train_split} train row(s) have no "
            f"{config.value_column!r} value and are left out (label them with `rlev predict-values`)"
        )
    if train_rows.bad_values.n:
        bad = train_rows.bad_values
        out.warn(
            f"--skip-bad-values: {bad.n} train row(s) with a {bad.column!r} value outside [0, 1] left out "
            f"({bad.describe()})"
        )
    prompts, uniform_scale, too_long = to_prompts(
        train_rows.rows,
        config.system_prompt,
        config.reward,
        config.alpha,
        config.seed,
        tokenizer,
        config.max_prompt_length,
    )
    if not prompts:
        from rlev_cli.errors import RlevError

        raise RlevError(f"every train prompt is longer than --max-prompt-length {config.max_prompt_length} tokens")
    if too_long:
        out.warn(f"{too_long} train prompt(s) over {config.max_prompt_length} tokens left out")
    from datasets import Dataset

    dataset = Dataset.from_list(prompts)
    from rlev_cli.verify.grade import make_grader

    grader = make_grader(
        config.verifier, config.judge_url, config.judge_model, config.verify_timeout, workers=config.verify_workers
    )
    rollout_log = RolloutLog(run_dir / "rollouts.parquet", keep_until=resume_step)
    reward = RlevReward(config.reward, config.alpha, uniform_scale, grader=grader)
    quiet_ungraded_warning()
    cuda = torch.cuda.is_available()
    peft_config = None
    if config.lora_r:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=config.lora_r, lora_alpha=2 * config.lora_r, task_type="CAUSAL_LM", target_modules="all-linear"
        )
    trl_config, cls, extra = trl_config_for(config, run_dir, cuda)
    trainer = cls(
        model=model,
        reward_funcs=reward,
        args=trl_config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        **extra,
    )
    trainer.rollout_log = rollout_log
    # Our own progress bar and metrics.parquet replace the Trainer's printed dicts (stdout stays clean).
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    callback = RunLogCallback(run_dir, rollout_log, progress, keep_until=resume_step)
    trainer.add_callback(callback)
    trainer.run_log = callback
    if config.value_tilt_steps:  # the mechanism measured: gradient per value bucket (docs/paper-effect.md)
        from rlev_cli.train.tilt import ValueTiltCallback

        true_values = {row["id"]: row["value"] for row in train_rows.rows}  # before any shuffling
        trainer.add_callback(ValueTiltCallback(trainer, reward, true_values, config, every=config.value_tilt_steps))
    info = {
        "n_prompts": len(prompts),
        "trained_on": [(p["id"], p["question"]) for p in prompts],  # for the leakage check of `evaluate`
        "n_train_split": train_rows.n_train_split,
        "n_without_value": train_rows.n_without_value,
        "bad_values": train_rows.bad_values.as_dict(),
        "n_too_long": too_long,
        "uniform_scale": uniform_scale,
        "trl_config": {
            k: v
            for k, v in asdict(trl_config).items()
            if isinstance(v, str | int | float | bool | type(None))
            or k in ("lr_scheduler_kwargs", "report_to")  # the recipe's floor; where the logs go
        },
        "kl_in_reward": bool(extra.get("kl_in_reward")) or config.algo == "rloo",
    }
    return trainer, info


def trl_config_for(
    config: TrainConfig, run_dir: Path, cuda: bool
) -> tuple[GRPOConfig | RLOOConfig, Callable[..., RlevTrainer], dict[str, Any]]:
    """The TRL configuration of a run, the trainer class and its extra arguments (the KL placement)."""
    from trl import GRPOConfig, RLOOConfig

    from rlev_cli.train.trainers import ReinforcePPTrainer, RlevGRPOTrainer, RlevRLOOTrainer

    common = trl_common(config, run_dir, cuda)
    if config.algo == "rloo":
        # KL in the reward as TRL's RLOO does; no advantage whitening (keeps s(x) exactly).
        return RLOOConfig(**common, normalize_advantages=False), RlevRLOOTrainer, {}
    scale = config.scale_rewards if config.algo == "grpo" else "none"
    if config.algo == "grpo" and scale == "group" and config.reward != "correctness":
        out.warn(
            "--scale-rewards group: per-group std normalization cancels s(x); this run is plain "
            "correctness RL with the value weighting removed (paper-faithful GRPO only)"
        )
    trl_config = GRPOConfig(**common, scale_rewards=scale, loss_type="dapo", mask_truncated_completions=False)
    if config.algo == "reinforce++":
        return trl_config, ReinforcePPTrainer, {"rpp_baseline": config.rpp_baseline, "kl_in_reward": True}
    # --recipe paper: the KL is a k1 penalty in the reward for every algorithm (OpenRLHF group_norm)
    return trl_config, RlevGRPOTrainer, {"kl_in_reward": config.recipe == "paper"}


class _DropUngradedDump:
    """logging filter: TRL logs every kwarg of a batch with an ungraded completion (kilobytes per step);
    rlev counts ungraded completions in rollouts.parquet, the manifest and one summary line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "All reward functions returned None" not in str(record.msg)


def quiet_ungraded_warning() -> None:
    import logging

    for name in ("trl.trainer.grpo_trainer", "trl.trainer.rloo_trainer"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropUngradedDump) for f in logger.filters):
            logger.addFilter(_DropUngradedDump())
