"""The `rlev` command line: one small function per command; the work happens in each stage's core."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rlev_cli import __version__
from rlev_cli.config import EvalConfig, IngestConfig, TrainConfig, ValuesConfig, help_for
from rlev_cli.demo.config import DemoConfig
from rlev_cli.errors import RlevError
from rlev_cli.output import out

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="RLEV: train language models where a correct answer earns what its question is worth.",
)

Workspace = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="RLEV_WORKSPACE",
        show_default=False,
        help="Folder shared by all stages [default: ./rlev-workspace].",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")]


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


def _start(as_json: bool, debug: bool) -> None:
    out.use_json(as_json)
    if debug:
        os.environ["RLEV_DEBUG"] = "1"


def _workspace(workspace: Path | None) -> Path:
    from rlev_cli.workspace import resolve_workspace

    return resolve_workspace(workspace)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Exam files or folders (walked recursively).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help=help_for(IngestConfig, "out"), show_default=False)
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=help_for(IngestConfig, "format"))] = "auto",
    total: Annotated[float | None, typer.Option(help=help_for(IngestConfig, "total"))] = None,
    totals: Annotated[Path | None, typer.Option(help=help_for(IngestConfig, "totals"))] = None,
    scheme: Annotated[Path | None, typer.Option(help=help_for(IngestConfig, "scheme"))] = None,
    field_map: Annotated[
        list[str] | None, typer.Option("--map", metavar="KEY=COLUMN", help=help_for(IngestConfig, "field_map"))
    ] = None,
    total_from_sum: Annotated[bool, typer.Option(help=help_for(IngestConfig, "total_from_sum"))] = False,
    test_fraction: Annotated[float, typer.Option(help=help_for(IngestConfig, "test_fraction"))] = 0.1,
    seed: Annotated[int, typer.Option(help=help_for(IngestConfig, "seed"))] = 0,
    strict: Annotated[bool, typer.Option(help=help_for(IngestConfig, "strict"))] = False,
    unscored: Annotated[bool, typer.Option(help=help_for(IngestConfig, "unscored"))] = False,
    workspace: Workspace = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Read exam papers into questions.parquet (value = points / exam total) and rejects.parquet."""
    _start(as_json, debug)
    from rlev_cli.ingest import run_ingest

    config = IngestConfig(
        out=out_dir or _workspace(workspace),
        format=fmt,
        total=total,
        totals=totals,
        scheme=scheme,
        field_map=_parse_map(field_map or []),
        total_from_sum=total_from_sum,
        test_fraction=test_fraction,
        seed=seed,
        strict=strict,
        unscored=unscored,
    )
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
        formats=result.formats,
        questions_path=str(result.questions_path),
        rejects_path=str(result.rejects_path),
        manifest_path=str(result.manifest_path),
        tables={
            "inputs": result.inputs,  # the format chosen for each file (auto-detection says what it chose)
            "reject_reasons": [{"reason": k, "count": v} for k, v in result.reject_reasons.items()],
        },
    )


def _v(name: str, *flags: str, **kwargs):
    return typer.Option(*flags, help=help_for(ValuesConfig, name), **kwargs)


@app.command("predict-values")
def predict_values(
    data: Annotated[Path | None, _v("data", show_default=False)] = None,
    out_file: Annotated[Path | None, _v("out", "--out", "-o", show_default=False)] = None,
    target: Annotated[str, _v("target")] = "auto",
    replace_all: Annotated[bool, _v("replace_all", "--all")] = False,
    from_difficulty: Annotated[str | None, _v("from_difficulty", show_default=False)] = None,
    model_out: Annotated[Path | None, _v("model_out", show_default=False)] = None,
    model_in: Annotated[Path | None, _v("model_in", show_default=False)] = None,
    default_total: Annotated[float, _v("default_total")] = 100.0,
    folds: Annotated[int, _v("folds")] = 5,
    seed: Annotated[int, _v("seed")] = 0,
    workspace: Workspace = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Label questions with predicted values (scikit-learn, grouped CV report) or difficulty weights."""
    _start(as_json, debug)
    from rlev_cli.values.core import run_predict_values
    from rlev_cli.workspace import QUESTIONS_FILE

    config = ValuesConfig(
        data=data or _workspace(workspace) / QUESTIONS_FILE,
        out=out_file,
        target=target,
        replace_all=replace_all,
        from_difficulty=from_difficulty,
        model_out=model_out,
        model_in=model_in,
        default_total=default_total,
        folds=folds,
        seed=seed,
    )
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


def _t(name: str, *flags: str, **kwargs):
    """A train option whose help (and name) comes from TrainConfig."""
    return typer.Option(*flags, help=help_for(TrainConfig, name), **kwargs)


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[Path | None, _t("data", show_default=False)] = None,
    model: Annotated[str, _t("model")] = "tiny",
    algo: Annotated[str, _t("algo")] = "rloo",
    reward: Annotated[str, _t("reward")] = "rlev",
    alpha: Annotated[float, _t("alpha")] = 10.0,
    value_column: Annotated[str, _t("value_column")] = "value",
    num_generations: Annotated[int, _t("num_generations")] = 4,
    kl_coef: Annotated[float, _t("kl_coef")] = 0.01,
    learning_rate: Annotated[float, _t("learning_rate")] = 5e-7,
    max_steps: Annotated[int, _t("max_steps")] = -1,
    epochs: Annotated[float, _t("epochs")] = 1.0,
    batch_size: Annotated[int, _t("batch_size")] = 8,
    gradient_accumulation_steps: Annotated[int, _t("gradient_accumulation_steps")] = 1,
    max_prompt_length: Annotated[int, _t("max_prompt_length")] = 1024,
    max_completion_length: Annotated[int, _t("max_completion_length")] = 1024,
    temperature: Annotated[float, _t("temperature")] = 1.0,
    lora_r: Annotated[int, _t("lora_r")] = 0,
    save_steps: Annotated[int, _t("save_steps")] = 100,
    logging_steps: Annotated[int, _t("logging_steps")] = 1,
    resume: Annotated[bool, _t("resume")] = False,
    seed: Annotated[int, _t("seed")] = 0,
    output: Annotated[Path | None, _t("output", show_default=False)] = None,
    scale_rewards: Annotated[str, _t("scale_rewards")] = "batch",
    allow_group_scaling: Annotated[bool, _t("allow_group_scaling")] = False,
    rpp_baseline: Annotated[bool, _t("rpp_baseline")] = False,
    num_processes: Annotated[int, _t("num_processes")] = 1,
    accelerate_config: Annotated[str | None, _t("accelerate_config", show_default=False)] = None,
    vllm: Annotated[str, _t("vllm")] = "none",
    vllm_server_url: Annotated[str | None, _t("vllm_server_url", show_default=False)] = None,
    judge_url: Annotated[str | None, _t("judge_url", show_default=False)] = None,
    judge_model: Annotated[str | None, _t("judge_model", show_default=False)] = None,
    max_train_samples: Annotated[int | None, _t("max_train_samples", show_default=False)] = None,
    bf16: Annotated[bool | None, _t("bf16", "--bf16/--no-bf16", show_default=False)] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML file of these options (snake_case keys); flags given on the command line win.",
            show_default=False,
        ),
    ] = None,
    workspace: Workspace = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Train a policy with RLEV rewards (REINFORCE++, RLOO or GRPO on TRL) on the train split."""
    _start(as_json, debug)
    options = {k: v for k, v in ctx.params.items() if k not in ("config_file", "workspace", "as_json", "debug")}
    if config_file:
        options = _merge_config_file(ctx, options, config_file)
    config = TrainConfig(**options, workspace=_workspace(workspace))
    from rlev_cli.train.core import run_training

    total = config.max_steps if config.max_steps > 0 else None
    with out.progress(total, f"train {config.algo}/{config.reward}") as advance:
        result = run_training(config, progress=advance)
    out.summary(
        "train",
        run_dir=str(result.run_dir),
        model_dir=str(result.model_dir),
        steps=result.steps,
        prompts=result.n_prompts,
        prompts_too_long=result.n_too_long,
        algo=config.algo,
        reward=config.reward,
        resumed_from=result.resumed_from,
    )


def _e(name: str, *flags: str, **kwargs):
    return typer.Option(*flags, help=help_for(EvalConfig, name), **kwargs)


@app.command()
def evaluate(
    runs: Annotated[
        list[Path] | None, typer.Argument(help="Run folders [default: the latest run].", show_default=False)
    ] = None,
    models: Annotated[list[str] | None, _e("models", "--model", metavar="ID|PATH|tiny", show_default=False)] = None,
    data: Annotated[Path | None, _e("data", show_default=False)] = None,
    split: Annotated[str, _e("split")] = "test",
    benchmarks: Annotated[str, _e("benchmarks")] = "indomain",
    data_dir: Annotated[Path | None, _e("data_dir", show_default=False)] = None,
    limit: Annotated[int | None, _e("limit", show_default=False)] = None,
    backend: Annotated[str, _e("backend")] = "hf",
    base_url: Annotated[str | None, _e("base_url", show_default=False)] = None,
    concurrency: Annotated[int, _e("concurrency")] = 16,
    batch_size: Annotated[int, _e("batch_size")] = 8,
    max_new_tokens: Annotated[int, _e("max_new_tokens")] = 1024,
    temperature: Annotated[float, _e("temperature")] = 0.0,
    tensor_parallel_size: Annotated[int, _e("tensor_parallel_size")] = 1,
    data_parallel_size: Annotated[int, _e("data_parallel_size")] = 1,
    gpu_memory_utilization: Annotated[float, _e("gpu_memory_utilization")] = 0.9,
    responses: Annotated[Path | None, _e("responses", show_default=False)] = None,
    ceval_split: Annotated[str, _e("ceval_split")] = "val",
    variants: Annotated[list[str] | None, _e("variants", "--variant", metavar="BENCH=NAME", show_default=False)] = None,
    judge_url: Annotated[str | None, _e("judge_url", show_default=False)] = None,
    judge_model: Annotated[str | None, _e("judge_model", show_default=False)] = None,
    seed: Annotated[int, _e("seed")] = 0,
    out_dir: Annotated[Path | None, _e("out", "--out", "-o", show_default=False)] = None,
    workspace: Workspace = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Evaluate runs or models: value-aware metrics in domain, GPQA/MMLU-Pro/C-Eval/SuperGPQA out of domain."""
    _start(as_json, debug)
    config = EvalConfig(
        runs=runs or [],
        models=models or [],
        data=data,
        split=split,
        benchmarks=benchmarks,
        data_dir=data_dir,
        limit=limit,
        backend=backend,
        base_url=base_url,
        concurrency=concurrency,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size,
        gpu_memory_utilization=gpu_memory_utilization,
        responses=responses,
        ceval_split=ceval_split,
        variants=variants or [],
        judge_url=judge_url,
        judge_model=judge_model,
        seed=seed,
        out=out_dir,
        workspace=_workspace(workspace),
    )
    from rlev_cli.evaluate.core import run_evaluation

    with out.progress(None, "generating") as advance:
        result = run_evaluation(config, progress=advance)
    out.summary(
        "evaluate",
        out_dir=str(result.out_dir),
        predictions_path=str(result.predictions_path),
        summary_path=str(result.summary_path),
        plots=[str(p) for p in result.plots],
        generated=result.generated,
        reused=result.reused,
        unlabeled_skipped=result.skipped_unlabeled,
        tables={"comparison": result.comparison},
    )


def _d(name: str, *flags: str, **kwargs):
    return typer.Option(*flags, help=help_for(DemoConfig, name), **kwargs)


@app.command()
def demo(
    out_dir: Annotated[Path, _d("out", "--out", "-o")] = DemoConfig.out,
    seeds: Annotated[list[int] | None, _d("seeds", "--seed", show_default=False)] = None,
    quick: Annotated[bool, _d("quick")] = False,
    modes: Annotated[list[str] | None, _d("modes", "--mode", show_default=False)] = None,
    steps: Annotated[int, _d("steps")] = DemoConfig.steps,
    papers: Annotated[int, _d("papers")] = DemoConfig.papers,
    sft_steps: Annotated[int, _d("sft_steps")] = DemoConfig.sft_steps,
    learning_rate: Annotated[float, _d("learning_rate")] = DemoConfig.learning_rate,
    kl_coef: Annotated[float, _d("kl_coef")] = DemoConfig.kl_coef,
    threads: Annotated[int, _d("threads")] = DemoConfig.threads,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Watch RLEV work: synthetic papers -> ingest -> SFT warm start -> train every reward mode -> evaluate."""
    _start(as_json, debug)
    from rlev_cli.demo.core import run_demo, table_for_print

    defaults = DemoConfig()
    config = DemoConfig(
        out=out_dir,
        seeds=seeds or defaults.seeds,
        quick=quick,
        modes=modes or defaults.modes,
        steps=steps,
        papers=papers,
        sft_steps=sft_steps,
        learning_rate=learning_rate,
        kl_coef=kl_coef,
        threads=threads,
    )
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


@analyze_app.command("termination")
def analyze_termination(
    runs: Annotated[list[Path], typer.Argument(help="Run folders, e.g. a correctness baseline and an RLEV run.")],
    n: Annotated[int, typer.Option("--n", help="Highest- and lowest-valued prompts per group (paper: 200).")] = 200,
    predictions: Annotated[
        Path | None,
        typer.Option(help="predictions.parquet to use [default: RUN/eval/predictions.parquet].", show_default=False),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder [default: the first run's folder].", show_default=False),
    ] = None,
    as_json: AsJson = False,
    debug: Debug = False,
) -> None:
    """Figure 2: teacher-forced P(EOS) per decoding position on the N highest- and lowest-valued prompts."""
    _start(as_json, debug)
    from rlev_cli.analysis.termination import run_termination

    result = run_termination(runs, out_dir or Path(runs[0]) / "analysis", n=n, predictions=predictions)
    out.summary(
        "analyze termination",
        table_path=str(result.table_path),
        plot_path=str(result.plot_path),
        n_per_group=result.n_per_group,
    )


def _merge_config_file(ctx: typer.Context, options: dict, path: Path) -> dict:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RlevError(f"{path}: cannot read the --config YAML ({err})") from err
    if not isinstance(loaded, dict):
        raise RlevError(f"{path}: --config must be a mapping of option: value")
    unknown = sorted(set(loaded) - set(options))
    if unknown:
        raise RlevError(f"{path}: unknown option(s) {', '.join(unknown)}")
    merged = dict(options)
    for key, value in loaded.items():
        source = ctx.get_parameter_source(key)  # Typer vendors Click: compare by name, not by enum class
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            merged[key] = value
    return merged


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        key, sep, column = item.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise RlevError(f"--map {item!r}: expected KEY=COLUMN, e.g. --map question=problem")
        mapping[key.strip()] = column.strip()
    return mapping


def main() -> None:
    """Console entry point: user errors as one line and exit 1; bugs keep their traceback."""
    try:
        app(standalone_mode=True)
    except RlevError as err:
        if os.environ.get("RLEV_DEBUG"):
            raise
        out.error(str(err))
        raise SystemExit(1) from None
