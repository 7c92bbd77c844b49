"""From a TrainConfig to a ready TRL trainer: dataset, reward function, TRL config, trainer class."""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rlev_cli.output import out
from rlev_cli.train.config import TrainConfig, kl_form_in_use
from rlev_cli.valuecheck import BadValues

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
        top_p=config.top_p,
        top_k=config.top_k,
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
        **{checkpointing_field(): config.gradient_checkpointing},
        remove_unused_columns=False,
        log_completions=False,
        disable_tqdm=True,
        epsilon=config.epsilon,
        epsilon_high=config.epsilon_high,
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
        if config.vllm == "colocate":  # the engine's context: a prompt and its completion, no more
            common["vllm_max_model_length"] = config.max_prompt_length + config.max_completion_length
    if config.eval_steps:
        # one eval batch holds whole prompt groups: (per-device batch x processes) divisible by G
        whole = (config.batch_size * config.num_processes) % config.num_generations == 0
        common.update(
            eval_strategy="steps",
            eval_steps=config.eval_steps,
            per_device_eval_batch_size=config.batch_size if whole else config.num_generations,
        )
    return common


@contextmanager
def vllm_on_cpu(model: str, max_model_len: int, max_num_seqs: int) -> Iterator[None]:
    """While TRL builds its colocated engine on a CPU (vLLM's CPU build), make it an engine whose weights
    TRL's sync can update, and size it for this run.

    vLLM's CPU build packs each linear layer's weight into a oneDNN copy when the model loads
    (`vllm.model_executor.layers.utils.dispatch_cpu_unquantized_gemm`) and, for every layer but the LM head,
    replaces the weight by an empty parameter. TRL's sync after each optimizer step
    (`model.load_weights([(name, param)])`) then fails with `AttributeError: 'Parameter' object has no
    attribute 'weight_loader'`, and the LM head would keep sampling from its packed copy of the first
    weights. Here every 2-D layer takes vLLM's own fallback instead (`torch.nn.functional.linear` on the
    live weight, what vLLM does for MLA's kv_b_proj), so a sync reaches the next generation. Also: eager
    execution (no torch.compile: the start is minutes shorter and nothing caches the old weights), a KV cache
    sized for `max_num_seqs` sequences of `max_model_len` tokens (VLLM_CPU_KVCACHE_SPACE, whole GiB; an
    explicit value wins), and vLLM's log on stderr."""
    import importlib

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib(model, max_model_len, max_num_seqs)))
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    layers: Any = importlib.import_module("vllm.model_executor.layers.utils")  # vLLM: an optional extra
    generation: Any = importlib.import_module("trl.generation.vllm_generation")
    dispatch, llm = layers.dispatch_cpu_unquantized_gemm, generation.LLM
    from torch.nn.functional import linear as torch_linear

    def live_weight_gemm(layer: Any, remove_weight: bool) -> None:
        if layer.weight.is_meta or layer.weight.ndim != 2:  # not a dense layer: vLLM's own handling
            dispatch(layer, remove_weight)
            return
        layer.cpu_linear = torch_linear

    layers.dispatch_cpu_unquantized_gemm = live_weight_gemm
    generation.LLM = functools.partial(llm, enforce_eager=True)
    try:
        yield
    finally:
        layers.dispatch_cpu_unquantized_gemm, generation.LLM = dispatch, llm


def kv_cache_gib(model: str, max_model_len: int, max_num_seqs: int) -> int:
    """GiB of RAM for the KV cache of `max_num_seqs` full-length sequences (at least 1)."""
    from transformers import AutoConfig

    text = AutoConfig.from_pretrained(model).get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or text.num_attention_heads
    per_token = 2 * text.num_hidden_layers * kv_heads * head_dim * 4  # keys and values, fp32 at most
    return max(1, math.ceil(int(per_token) * max_model_len * max_num_seqs / 2**30))


def checkpointing_field() -> str:
    """The TrainingArguments name of activation checkpointing: transformers 5.2x renamed
    `gradient_checkpointing` (still read, with a warning); vLLM's CPU build pins transformers 5.17."""
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


# TRL fields an rlev option sets: `--trl` refuses them and names the option (one declaration per setting).
TRL_FIELD_OPTIONS = {
    "per_device_train_batch_size": "batch_size",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "num_generations": "num_generations",
    "max_completion_length": "max_completion_length",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "learning_rate": "learning_rate",
    "max_steps": "max_steps",
    "num_train_epochs": "epochs",
    "beta": "kl_coef",
    "logging_steps": "logging_steps",
    "save_steps": "save_steps",
    "seed": "seed",
    "report_to": "report_to",
    "bf16": "bf16",
    "activation_checkpointing": "gradient_checkpointing",
    "gradient_checkpointing": "gradient_checkpointing",
    "epsilon": "epsilon",
    "epsilon_high": "epsilon_high",
    "loss_type": "loss_type",
    "scale_rewards": "scale_rewards",
    "eval_strategy": "eval_steps",
    "eval_steps": "eval_steps",
    "use_vllm": "vllm",
    "vllm_mode": "vllm",
    "vllm_server_base_url": "vllm_server_url",
}
# TRL fields rlev sets itself, with the reason a run depends on them.
TRL_FIELDS_FIXED = {
    "output_dir": "the checkpoints go to RUN/checkpoints (choose RUN with --output)",
    "remove_unused_columns": "the reward reads the table's columns (answer, qtype, value)",
    "disable_tqdm": "rlev prints its own progress",
    "log_completions": "rlev writes rollouts.parquet for every algorithm",
    "use_cpu": "it follows whether CUDA is available",
    "run_name": "the run is named after its folder",
    "save_strategy": "a run checkpoints every --save-steps, which --resume needs",
}


def trl_config_class(config: TrainConfig) -> type:
    from trl import GRPOConfig, RLOOConfig

    # TRL's RLOOTrainer for rloo; GRPOTrainer for grpo, reinforce++ and OpenRLHF's rloo (--kl-form openrlhf)
    return RLOOConfig if _trl_rloo(config) else GRPOConfig


def _trl_rloo(config: TrainConfig) -> bool:
    return config.algo == "rloo" and kl_form_in_use(config.kl_form, config.algo, config.recipe) == "trl"


def trl_overrides(config: TrainConfig) -> dict[str, Any]:
    """The `--trl KEY=VALUE` settings, checked against the TRL config class of the run's algorithm and
    converted to each field's declared type (a command-line value is read as JSON when it is not already
    of that type: `true`, `null`, `[1, 2]`).

    Raises:
        RlevError: an unknown field (with the close matches), a field an rlev option or rlev itself sets,
            or a value of the wrong type.
    """
    import dataclasses
    import difflib
    import typing

    from rlev_cli.errors import RlevError

    if not config.trl:
        return {}
    cls = trl_config_class(config)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for key, raw in config.trl.items():
        if key in TRL_FIELD_OPTIONS:
            flag = "--" + TRL_FIELD_OPTIONS[key].replace("_", "-")
            raise RlevError(f"--trl {key}: rlev sets TRL's {key} from {flag}; use {flag}")
        if key in TRL_FIELDS_FIXED:
            raise RlevError(f"--trl {key}: rlev sets it itself; {TRL_FIELDS_FIXED[key]}")
        if key not in names:
            close = difflib.get_close_matches(key, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise RlevError(f"--trl {key}: not a field of TRL's {cls.__name__}{hint}")
        values[key] = _trl_value(key, raw, hints[key])
    return values


def _trl_value(key: str, raw: Any, annotation: Any) -> Any:
    """A `--trl` value as its field's type; a command-line string is also tried as JSON (`true`, `null`)."""
    import json
    import typing

    from rlev_cli.errors import RlevError
    from rlev_cli.settings import WrongType, convert

    if isinstance(raw, str) and dict in {typing.get_origin(a) or a for a in typing.get_args(annotation)}:
        # TRL reads such a string as JSON (lr_scheduler_kwargs, model_init_kwargs): it must be an object
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            raise RlevError(f'--trl {key}: expected a JSON object such as {{"min_lr_rate": 0.1}}, got {raw!r}')
        return loaded
    try:
        return convert(raw, annotation)
    except WrongType as err:
        expected = str(err)
    if isinstance(raw, str):
        try:
            return convert(json.loads(raw), annotation)
        except (ValueError, WrongType):
            pass
    raise RlevError(f"--trl {key}: expected {expected}, got {raw!r}")


def rollout_shape(config: TrainConfig) -> tuple[int, int]:
    """(prompts per rollout, optimizer steps per rollout) as TRL will run them, read from the run's TRL config
    (`make_trl_config`: the recipe's batch, then any `--trl` field, completed by TRL's __post_init__), so that a
    `--trl steps_per_generation`, generation_batch_size or num_iterations counts as TRL counts it. Each process
    trains on `steps_per_generation` micro-batches of a rollout, `num_iterations` times, and an optimizer step
    takes `gradient_accumulation_steps` of them."""
    import torch

    trl_config = make_trl_config(config, Path("rollout-shape"), torch.cuda.is_available())
    batch, spg, total = (
        trl_config.per_device_train_batch_size,
        trl_config.steps_per_generation,
        trl_config.generation_batch_size,
    )
    assert spg is not None and total is not None  # TRL's __post_init__ sets both
    # TRL derives one from the other for the processes of the interpreter that builds the config: one before
    # `accelerate launch` starts the run's --num-processes. A generation_batch_size given is the run's total.
    if config.trl.get("generation_batch_size") is not None:
        spg = total // (batch * config.num_processes)
    completions = batch * config.num_processes * spg
    steps = spg * trl_config.num_iterations // trl_config.gradient_accumulation_steps
    return completions // config.num_generations, max(1, steps)


def check_steps(config: TrainConfig, n_prompts: int) -> None:
    """Refuse a run that would train 0 steps: TRL drops a rollout it cannot fill, so with fewer train prompts
    than one rollout takes, the Trainer trains nothing (and saves the base model as if trained) or fails deep
    inside transformers. Called before the model is loaded.

    Raises:
        RlevError: naming the prompts, the rollout's size and how it is made, and what to change.
    """
    per_rollout, steps = rollout_shape(config)
    if n_prompts >= per_rollout:
        return
    from rlev_cli.errors import RlevError

    spg = per_rollout * config.num_generations // (config.batch_size * config.num_processes)
    made = (
        f"--batch-size {config.batch_size} x {config.num_processes} process(es) x {spg} micro-batch(es) per "
        f"rollout / --num-generations {config.num_generations}"
    )
    if config.recipe == "paper":
        made = f"--rollout-prompts {config.rollout_prompts} with --recipe paper"
        fix = f"use --rollout-prompts {n_prompts} or fewer"
    else:
        fits = [
            b
            for b in range(config.num_generations, n_prompts * config.num_generations + 1, config.num_generations)
            if b * config.num_processes * spg // config.num_generations <= n_prompts
        ]
        if config.trl.get("generation_batch_size") is not None:  # a fixed rollout: no --batch-size shrinks it
            fix = f"lower --trl generation_batch_size (to {n_prompts * config.num_generations} or less)"
        elif fits:
            fix = f"use --batch-size {fits[-1]}"
        elif config.trl.get("steps_per_generation") is not None:  # the flags rlev derives it from cannot help
            fix = "lower --trl steps_per_generation"
        else:
            fix = "use --num-processes 1 --gradient-accumulation-steps 1"
    raise RlevError(
        f"{n_prompts} train prompt(s), but one rollout takes {per_rollout} ({made}; {steps} optimizer step(s) "
        f"per rollout), so this run would train 0 steps; {fix}, or add train rows (more exams, a lower "
        "--test-fraction at ingest)"
    )


def eval_rows(data: Path, config: TrainConfig) -> tuple[list[dict[str, Any]], BadValues]:
    """The test split's rows with a value, for `--eval-steps` (TRL's eval_dataset), checked as the train
    split's are; with the bad-value rows left out (--skip-bad-values).

    Raises:
        RlevError: when the table has no such row.
    """
    from rlev_cli.errors import RlevError
    from rlev_cli.schema import UNSCORED_QUESTION_COLUMNS, read_questions
    from rlev_cli.train.data import split_with_values, value_rows

    table = read_questions(data, UNSCORED_QUESTION_COLUMNS)
    column = config.value_column
    test, bad = None, BadValues(column)
    if column in table.column_names:
        test, _, _, bad = split_with_values(table, "test", column, data, config.skip_bad_values)
    if test is None or test.num_rows == 0:
        raise RlevError(
            f"--eval-steps {config.eval_steps}: {data} has no test row with a {column!r} value to evaluate on; "
            "ingest with --test-fraction > 0, or drop --eval-steps"
        )
    return value_rows(test, column), bad


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

    from rlev_cli.threads import set_torch_threads
    from rlev_cli.tiny import load_tokenizer, quiet_transformers

    set_torch_threads(config.threads, model, config.num_processes)

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
        out.warn(train_rows.bad_values.skipped("train row(s)"))

    def prompted(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float, int]:
        return to_prompts(
            rows, config.system_prompt, config.reward, config.alpha, config.seed, tokenizer, config.max_prompt_length
        )

    prompts, uniform_scale, too_long = prompted(train_rows.rows)
    if not prompts:
        from rlev_cli.errors import RlevError

        raise RlevError(f"every train prompt is longer than --max-prompt-length {config.max_prompt_length} tokens")
    if too_long:
        out.warn(f"{too_long} train prompt(s) over {config.max_prompt_length} tokens left out")
    check_steps(config, len(prompts))
    from datasets import Dataset

    dataset = Dataset.from_list(prompts)
    eval_dataset, eval_bad = None, None
    if config.eval_steps:  # the test split, prompted and rewarded as the train split is
        test_rows, eval_bad = eval_rows(data, config)
        if eval_bad.n:
            out.warn(eval_bad.skipped("test-split row(s)", " of the --eval-steps set"))
        held_out = prompted(test_rows)[0]
        if not held_out:
            from rlev_cli.errors import RlevError

            raise RlevError(
                f"--eval-steps: every test prompt is longer than --max-prompt-length {config.max_prompt_length}"
            )
        eval_dataset = Dataset.from_list(held_out)
    from rlev_cli.verify.grade import make_grader

    grader = make_grader(
        config.verifier, config.judge_url, config.judge_model, config.verify_timeout, workers=config.verify_workers
    )
    rollout_log = RolloutLog(run_dir / "rollouts.parquet", keep_until=resume_step)
    reward = RlevReward(config.reward, config.alpha, uniform_scale, grader=grader)
    quiet_ungraded_warning()
    cuda = torch.cuda.is_available()
    peft_config = lora_config(config)
    trl_config, cls, extra = trl_config_for(config, run_dir, cuda)
    engine: AbstractContextManager[None] = nullcontext()
    if config.vllm == "colocate" and not cuda:  # TRL's max_num_seqs: one generation batch per process
        max_num_seqs = trl_config.per_device_train_batch_size * (trl_config.steps_per_generation or 1)
        max_model_len = trl_config.vllm_max_model_length or config.max_prompt_length + config.max_completion_length
        engine = vllm_on_cpu(model, max_model_len, max_num_seqs)
    with engine:
        trainer = cls(
            model=model,
            reward_funcs=reward,
            args=trl_config,
            train_dataset=dataset,
            eval_dataset=eval_dataset,
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
        "data_sha256": train_rows.data_sha256,  # of the bytes the prompts were parsed from
        "trained_on": [(p["id"], p["question"]) for p in prompts],  # for the leakage check of `evaluate`
        "n_train_split": train_rows.n_train_split,
        "n_without_value": train_rows.n_without_value,
        "bad_values": train_rows.bad_values.as_dict(),
        "eval_bad_values": eval_bad.as_dict() if eval_bad else None,  # the test split's (--eval-steps)
        "n_too_long": too_long,
        "uniform_scale": uniform_scale,
        "trl_config": {
            k: v
            for k, v in asdict(trl_config).items()
            if isinstance(v, str | int | float | bool | type(None))
            or k in ("lr_scheduler_kwargs", "report_to")  # the recipe's floor; where the logs go
        },
        "kl_in_reward": bool(extra.get("kl_in_reward")) or config.algo == "rloo",  # TRL's RLOO: in the reward too
    }
    return trainer, info


def lora_config(config: TrainConfig) -> Any:
    """PEFT's LoraConfig of a `--lora-r` run (None for full fine-tuning)."""
    if not config.lora_r:
        return None
    from peft import LoraConfig

    targets = config.lora_target_modules
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=2 * config.lora_r if config.lora_alpha is None else config.lora_alpha,
        lora_dropout=config.lora_dropout,
        task_type="CAUSAL_LM",
        target_modules="all-linear" if targets == ["all-linear"] else list(targets),
    )


def trl_arguments(config: TrainConfig, run_dir: Path, cuda: bool) -> dict[str, Any]:
    """Every argument of the run's TRL config: the common ones, the algorithm's, then the `--trl` fields."""
    arguments = trl_common(config, run_dir, cuda)
    if _trl_rloo(config):
        arguments["normalize_advantages"] = False  # KL in the reward as TRL's RLOO does; s(x) kept exactly
    else:
        scale = config.scale_rewards if config.algo == "grpo" else "none"
        arguments.update(scale_rewards=scale, loss_type=config.loss_type, mask_truncated_completions=False)
    arguments.update(trl_overrides(config))
    return arguments


def make_trl_config(config: TrainConfig, run_dir: Path, cuda: bool) -> GRPOConfig | RLOOConfig:
    """TRL's config object of the run; TRL's own checks (batch sizes, eval batch, vLLM) as one Error line."""
    from rlev_cli.errors import RlevError

    cls = trl_config_class(config)
    try:
        return cast("GRPOConfig | RLOOConfig", cls(**trl_arguments(config, run_dir, cuda)))
    except (ValueError, TypeError) as err:
        reason = " ".join(str(err).split())
        raise RlevError(f"TRL's {cls.__name__} refuses these settings: {reason}") from err


def check_trl_config(config: TrainConfig, run_dir: Path) -> None:
    """Build the run's TRL config once before the run folder exists, so that a `--trl` typo or a setting
    TRL refuses is an Error before any model is loaded."""
    import torch

    make_trl_config(config, run_dir, torch.cuda.is_available())


def trl_config_for(
    config: TrainConfig, run_dir: Path, cuda: bool
) -> tuple[GRPOConfig | RLOOConfig, Callable[..., RlevTrainer], dict[str, Any]]:
    """The TRL configuration of a run, the trainer class and its extra arguments (the KL placement)."""
    from rlev_cli.train.trainers import OpenRLHFRLOOTrainer, ReinforcePPTrainer, RlevGRPOTrainer, RlevRLOOTrainer

    trl_config = make_trl_config(config, run_dir, cuda)
    kl_form = kl_form_in_use(config.kl_form, config.algo, config.recipe)
    if config.algo == "rloo" and kl_form == "openrlhf":
        # OpenRLHF's rloo on GRPOTrainer: per-token KL reward-to-go, per-token clip, token-mean loss
        return trl_config, OpenRLHFRLOOTrainer, {}
    if config.algo == "rloo":
        return trl_config, RlevRLOOTrainer, {}
    if config.algo == "grpo" and config.scale_rewards == "group" and config.reward != "correctness":
        out.warn(
            "--scale-rewards group: per-group std normalization cancels s(x); this run is plain "
            "correctness RL with the value weighting removed (paper-faithful GRPO only)"
        )
    if config.algo == "reinforce++":
        return trl_config, ReinforcePPTrainer, {"rpp_baseline": config.rpp_baseline, "kl_in_reward": True}
    # --recipe paper: the KL is a k1 penalty in the reward (OpenRLHF group_norm), unless --kl-form trl
    return trl_config, RlevGRPOTrainer, {"kl_in_reward": kl_form == "openrlhf"}


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
