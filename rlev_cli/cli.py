"""The `rlev` command line: one small function per command; the work happens in each stage's core.

Every option is a field of the stage's config dataclass (`rlev_cli/<stage>/config.py`): `_command`
turns the fields into Typer options (default, help and choices declared once, in the field) and builds
the config from flags over the `--config` YAML file over the defaults.
"""

from __future__ import annotations

import dataclasses
import errno
import inspect
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from rlev_cli import __version__
from rlev_cli.analysis.config import TerminationConfig
from rlev_cli.demo.config import DemoConfig
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.config import EvalConfig
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.output import out
from rlev_cli.settings import build_config, command_parameters, read_config_file
from rlev_cli.train.config import TrainConfig
from rlev_cli.values.config import ValuesConfig

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="RLEV: train language models where a correct answer earns what its question is worth.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rlev {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """RLEV: train language models where a correct answer earns what its question is worth."""


_COMMON = [
    inspect.Parameter(
        "config_file",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(
            None,
            "--config",
            help="YAML file of these settings (snake_case keys); flags given on the command line win.",
            show_default=False,
        ),
        annotation=Path | None,
    ),
    inspect.Parameter(
        "as_json",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--json", help="Print one JSON summary object on stdout."),
        annotation=bool,
    ),
    inspect.Parameter(
        "progress_bars",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(
            True,
            "--progress/--no-progress",
            help="Live progress bar on a terminal; --no-progress (and any stderr that is not a terminal): "
            "plain lines, one per logged training step.",
        ),
        annotation=bool,
    ),
    inspect.Parameter(
        "debug",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(False, "--debug", help="Show the full traceback of an error."),
        annotation=bool,
    ),
]


def _command(
    config_class: type, name: str | None = None, examples: Sequence[str] = (), app_: typer.Typer | None = None
) -> Callable[..., Any]:
    """Register `fn(config, **arguments)` as a command: its options are `config_class`'s fields, its own
    parameters (positional arguments) come first; an argument named like a field sets that field too."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name not in _INJECTED]
        options = command_parameters(config_class, skip=[p.name for p in own])
        context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
        parameters = [context, *own, *options, *_COMMON]

        def command(ctx: typer.Context, **values: Any) -> None:
            out.use_json(values.pop("as_json"))
            out.use_bars(values.pop("progress_bars"))
            if values.pop("debug"):
                os.environ["RLEV_DEBUG"] = "1"
            config_file = values.pop("config_file")
            from_file = read_config_file(config_file, config_class) if config_file else {}
            arguments = {p.name: values.pop(p.name) for p in own}
            field_names = {f.name for f in dataclasses.fields(config_class)}
            fixed = {k: v for k, v in arguments.items() if k in field_names and v}
            given = {key for key in values if _given(ctx, key)}
            config = build_config(config_class, values, given, from_file, **fixed)
            passed = dict(arguments)  # also the ones that set a field: the command declared them
            if "explicit" in inspect.signature(fn).parameters:  # what the user set, e.g. for --resume checks
                passed["explicit"] = (given | set(fixed) | set(from_file)) - {"workspace"}
            started = time.time()
            try:
                fn(config, **passed)
            except KeyboardInterrupt:  # Ctrl-C: say what state the outputs are in, exit 130 as shells expect
                if os.environ.get("RLEV_DEBUG"):
                    raise
                out.error(f"interrupted; {_after_interrupt(name or fn.__name__, config, started)}")
                raise typer.Exit(130) from None

        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        epilog = "Examples:\n\n" + "\n\n".join(f"  {line}" for line in examples) if examples else None
        (app_ or app).command(name or fn.__name__, help=inspect.getdoc(fn), epilog=epilog)(command)
        return fn

    return register


_INJECTED = ("config", "explicit")  # parameters `_command` fills in itself, not options


def _after_interrupt(command: str, config: Any, started: float) -> str:
    """What an interrupted command leaves behind and how to go on, true for each command (ingest and
    predict-values replace their files as a set at the very end; only train has a --resume)."""
    if command == "train":
        from rlev_cli.train.core import interrupted_run

        run = interrupted_run(config, started)
        if run is None:
            return "no run folder was written yet, nothing to resume"
        return f"continue from the last checkpoint with: rlev train --output {run} --resume"
    if command == "evaluate":
        return "the responses generated so far are kept; the same command continues from them"
    if command == "demo":
        return "finished runs are kept; the same command reuses them and redoes the rest"
    return "nothing was replaced, the previous outputs (if any) are unchanged"


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set this option (on the command line or by its environment variable)."""
    source = ctx.get_parameter_source(name)  # Typer vendors Click: compare by name, not by enum class
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


@_command(
    IngestConfig,
    examples=(
        "rlev ingest examples/exams --scheme examples/jee_scheme.json --totals examples/jee_totals.csv",
        "rlev ingest papers.csv --map question=problem --map score=points --total 150",
    ),
)
def ingest(
    config: IngestConfig,
    paths: Annotated[
        list[str],  # str, not Path: Path would turn hf://OWNER/NAME into hf:/OWNER/NAME
        typer.Argument(help="Exam files or folders (walked recursively), or hf://OWNER/NAME (a Hub dataset)."),
    ],
) -> None:
    """Read exam papers into questions.parquet (value = points / exam total) and rejects.parquet."""
    from rlev_cli.ingest import run_ingest

    with out.progress(None, "reading exams") as advance:
        result = run_ingest(paths, config, progress=advance)
    for warning in result.warnings:
        out.warn(warning)
    if result.n_rejects:
        out.warn(f"{result.n_rejects} record(s) rejected, reasons in {result.rejects_path}")
    out.summary(
        "ingest",
        records_in=result.n_records,
        questions=result.n_questions,
        rejects=result.n_rejects,
        exams=result.n_exams,
        train=result.n_train,
        test=result.n_test,
        validation=result.n_validation,
        formats=result.formats,
        questions_path=str(result.questions_path),
        rejects_path=str(result.rejects_path),
        manifest_path=str(result.manifest_path),
        tables={
            "inputs": result.inputs,  # the format chosen for each file (auto-detection says what it chose)
            "reject_reasons": [{"reason": k, "count": v} for k, v in result.reject_reasons.items()],
        },
    )


@_command(
    ValuesConfig,
    name="predict-values",
    examples=(
        "rlev predict-values",
        "rlev predict-values --all --out noisy.parquet",
        "rlev predict-values --model-in values.skops --data new.parquet",
    ),
)
def predict_values(config: ValuesConfig) -> None:
    """Label questions with predicted values (scikit-learn, grouped CV report) or difficulty weights."""
    from rlev_cli.values.core import run_predict_values

    with out.progress(None, "fitting values"):
        result = run_predict_values(config)
    rows = []
    for name in ("model", "baseline_mean_per_qtype", "held_out"):
        if name in result.report:
            rows.append({"predictor": name, **result.report[name]})
    out.summary(
        "predict-values",
        rows=result.n_rows,
        filled=result.n_filled,
        value_source=result.source,
        chosen=result.report.get("chosen"),
        out_path=str(result.out_path),
        report_path=str(result.report_path) if result.report_path else None,
        model_path=str(result.model_path) if result.model_path else None,
        tables={"out_of_fold": rows},
    )


@_command(
    TrainConfig,
    examples=(
        "rlev train --algo rloo",
        "rlev train --algo reinforce++ --reward correctness --max-steps 100",
        "rlev train --output runs/r1 --resume",
    ),
)
def train(config: TrainConfig, explicit: set[str]) -> None:
    """Train a policy with RLEV rewards (REINFORCE++, RLOO or GRPO on TRL) on the train split."""
    from rlev_cli.train.core import run_training

    total = config.max_steps if config.max_steps > 0 else None
    with out.progress(total, f"train {config.algo}/{config.reward}", lines=True) as advance:
        result = run_training(config, progress=advance, explicit=explicit)
    out.summary(
        "train",
        run_dir=str(result.run_dir),
        model_dir=str(result.model_dir),
        steps=result.steps,
        prompts=result.n_prompts,
        prompts_too_long=result.n_too_long,
        train_rows_without_value=result.n_without_value,
        train_rows_bad_value=result.n_bad_value,
        completions=result.n_completions,
        ungraded=result.n_ungraded,
        ungraded_response_counted_wrong=result.n_ungraded_response,
        algo=result.algo,
        reward=result.reward,
        resumed_from=result.resumed_from,
    )


@_command(
    EvalConfig,
    examples=(
        "rlev evaluate",
        "rlev evaluate runs/rlev runs/baseline --benchmarks all --data-dir benchmarks/",
        "rlev evaluate --model Qwen/Qwen2.5-7B --backend vllm --benchmarks gpqa_diamond,mmlu_pro",
    ),
)
def evaluate(
    config: EvalConfig,
    runs: Annotated[
        list[Path] | None, typer.Argument(help="Run folders [default: the latest run].", show_default=False)
    ] = None,
) -> None:
    """Evaluate runs or models: value-aware metrics in domain, GPQA/MMLU-Pro/C-Eval/SuperGPQA out of domain."""
    from rlev_cli.evaluate.core import UNITS, run_evaluation

    with out.progress(None, "generating") as advance:
        result = run_evaluation(config, progress=advance)
    for warning in result.warnings:
        out.warn(warning)
    out.summary(
        "evaluate",
        out_dir=str(result.out_dir),
        predictions_path=str(result.predictions_path),
        summary_path=str(result.summary_path),
        plots=[str(p) for p in result.plots],
        generated=result.generated,
        reused=result.reused,
        unlabeled_skipped=result.skipped_unlabeled,
        prompts_too_long=result.too_long,
        missing_benchmarks=result.missing_benchmarks,
        value_column=result.value_column,
        value_sources=result.value_sources,
        bad_values=result.bad_values,
        grading=result.grading,
        units=UNITS,
        tables={"comparison": result.comparison, "accuracy_by_value": result.accuracy_by_value},
    )


@_command(DemoConfig, examples=("rlev demo --quick", "rlev demo --seed 0 --seed 1 --mode rlev --mode correctness"))
def demo(config: DemoConfig) -> None:
    """Watch RLEV work: synthetic papers -> ingest -> SFT warm start -> train every reward mode -> evaluate."""
    from rlev_cli.demo.core import run_demo, table_for_print

    result = run_demo(config, progress=out.info)
    out.summary(
        "demo",
        out_dir=str(result.out_dir),
        seeds=config.seeds,
        steps=config.steps,
        seconds=result.seconds,
        **{f"{k}_path": str(v) for k, v in result.paths.items()},
        tables={
            "ablation (held-out papers, %, tokens; mean±std over seeds)": table_for_print(result.ablation),
            "gradient per value bucket on a fixed batch": [
                {k: v for k, v in r.items() if k != "n_permutations"} for r in result.tilt
            ],
            "learning (reward: sampled, first vs last 10 steps; acc: greedy on the train papers, %)": [
                {k: v for k, v in r.items() if k != "run_dir"} for r in result.learning
            ],
        },
    )


analyze_app = typer.Typer(no_args_is_help=True, help="The paper's analyses for any runs.")
app.add_typer(analyze_app, name="analyze")


@_command(
    TerminationConfig,
    name="termination",
    app_=analyze_app,
    examples=(
        "rlev analyze termination runs/correctness runs/rlev --n 200",
        "rlev analyze termination --model smollm2-135m-instruct --predictions eval/predictions.parquet",
    ),
)
def analyze_termination(
    config: TerminationConfig,
    runs: Annotated[
        list[Path] | None,
        typer.Argument(help="Run folders, e.g. a correctness baseline and an RLEV run.", show_default=False),
    ] = None,
) -> None:
    """Figure 2: teacher-forced P(EOS) per decoding position on the N highest- and lowest-valued prompts."""
    from rlev_cli.analysis.termination import run_termination

    assert config.out is not None  # set from the first run (or the predictions' folder) by the config
    from rlev_cli.threads import set_torch_threads

    set_torch_threads(config.threads, Path(config.runs[0]) / "model" if config.runs else config.models[0])
    result = run_termination(config.runs, config.out, n=config.n, predictions=config.predictions, models=config.models)
    out.summary(
        "analyze termination",
        table_path=str(result.table_path),
        plot_path=str(result.plot_path),
        n_per_group=result.n_per_group,
    )


def main() -> None:
    """Console entry point: user errors as one line and exit 1; bugs keep their traceback."""
    try:
        app(standalone_mode=True)
    except (RlevError, OSError) as err:
        if os.environ.get("RLEV_DEBUG") or (isinstance(err, OSError) and not _names_a_path(err)):
            raise  # an OSError that names no path is a bug, not a user's bad path
        out.error(str(err) if isinstance(err, RlevError) else _os_error_line(err))
        raise SystemExit(1) from None


def _names_a_path(err: OSError) -> bool:
    return err.filename is not None or err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _os_error_line(err: OSError) -> str:
    """`cannot write /proc/x/questions.parquet: Permission denied`: the path and the OS reason."""
    path = err.filename if err.filename is not None else "the output folder"
    reason = err.strerror or type(err).__name__
    if err.errno == errno.EEXIST and Path(path).is_file():
        reason = "a file is in the way where a folder is needed"  # mkdir under a regular file
    return f"cannot write {path}: {reason}"
