"""`run_evaluation`: models or runs in, predictions.parquet + summary.parquet + plots out.

Flow per model: build the items of each benchmark -> generate what the partial file does not hold yet
(appending as batches finish, so a killed run resumes) -> score -> metrics. Then one comparison.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa

from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks import ALL, Item, extract_answer, load_items, read_rows
from rlev_cli.evaluate.config import EvalConfig
from rlev_cli.evaluate.metrics import average_rows, bucket_rows, summarize
from rlev_cli.evaluate.rendering import render_items
from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
from rlev_cli.schema import PREDICTIONS, SUMMARY, parquet_writer
from rlev_cli.valuecheck import BadValues, check_values
from rlev_cli.workspace import QUESTIONS_FILE, RUNS_DIR, Writer, workspace_lock

if TYPE_CHECKING:
    from rlev_cli.verify.grade import Grader

CHUNK = 32  # prompts generated between two appends to the partial file
UNITS = {
    "acc": "%",
    "h_acc": "% of the value at stake",
    "mean_length": "tokens (EOS not counted)",
    "value_density": "H-Acc % per token",
    "coverage": "% of responses graded",
}


@dataclass
class Target:
    """One model to evaluate: a training run's final model, a model path or hub id, or (with
    --responses) the given responses; `label` names it in the predictions and the summary."""

    label: str
    model: str | None  # path or hub id; None when scoring given responses
    run_dir: Path | None
    system_prompt: str | None = None  # in domain: a prompt the run was explicitly trained with
    algo: str | None = None  # the run's estimator and reward mode (the "Average" rows group by reward)
    reward: str | None = None


@dataclass
class EvalResult:
    """What `run_evaluation` wrote (predictions.parquet, summary.parquet, plots) and the figures the
    command prints: the per-benchmark comparison, Table 8 and how grading went."""

    out_dir: Path
    predictions_path: Path
    summary_path: Path
    plots: list[Path]
    comparison: list[dict[str, Any]]
    generated: int
    reused: int
    skipped_unlabeled: dict[str, int]
    missing_benchmarks: dict[str, str]  # benchmark -> why it could not be loaded (`--benchmarks all`)
    value_column: str
    value_sources: dict[str, int]  # value_source of the in-domain rows that weighted H-Acc, with counts
    accuracy_by_value: list[dict[str, Any]]  # Table 8: accuracy on all, top-20 % and bottom-20 % by value
    warnings: list[str]
    grading: dict[str, Any]  # verifier, seconds spent grading, judge requests and cache hits
    too_long: dict[str, dict[str, int]] = field(default_factory=dict)  # model -> benchmark -> prompts left out
    bad_values: dict[str, Any] | None = None  # in-domain rows left out by --skip-bad-values (valuecheck)


def resolve_targets(config: EvalConfig) -> list[Target]:
    """The models to evaluate: --model (paths or hub ids), else --run, else the latest run."""
    from rlev_cli.runs import latest_run, run_model
    from rlev_cli.tiny import model_label, resolve_model

    if config.responses:
        label = config.models[0] if config.models else Path(config.responses).stem
        return [Target(label, None, None)]
    if config.backend == "openai":  # the server's own model names; nothing to load here
        if not config.models:
            raise RlevError("--backend openai needs --model NAME (the name the server serves)")
        return [Target(model, model, None) for model in config.models]
    targets = []
    for model in config.models:
        path = resolve_model(model, Path(config.workspace))
        targets.append(Target(model_label(model), path, None))
    runs = list(config.runs)
    if not runs and not targets:
        latest = latest_run(Path(config.workspace) / RUNS_DIR)
        if latest is None:
            raise RlevError(
                f"no run in {Path(config.workspace) / RUNS_DIR}; train one (`rlev train`) or pass RUN_DIR or --model"
            )
        runs = [latest]
    for run in runs:
        run_model(Path(run), "its model was not saved whole; train it again (or evaluate another run)")
        targets.append(_run_target(Path(run)))
    labels = [t.label for t in targets]
    for k, target in enumerate(targets):  # several runs of one recipe: keep labels unique
        if labels.count(target.label) > 1:
            target.label = f"{target.label}#{labels[: k + 1].count(target.label)}"
    return targets


def _run_target(run: Path) -> Target:
    """Label `algo/reward` and the system prompt from the run's resolved config (read once); the folder
    name when it has none. A run trained with the default prompt leaves each row's own prompt in charge."""
    try:
        config = json.loads((run / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    label = f"{config['algo']}/{config['reward']}" if "algo" in config and "reward" in config else run.name
    prompt = config.get("system_prompt")
    explicit = prompt if prompt and prompt != SYSTEM_PROMPT else None
    return Target(label, str(run / "model"), run, explicit, config.get("algo"), config.get("reward"))


def for_target(items: dict[str, list[Item]], target: Target, config: EvalConfig | None = None) -> dict[str, list[Item]]:
    """In-domain prompts with the system prompt the target was explicitly trained with (unless
    --system-prompt overrides it for every target)."""
    overridden = config is not None and config.system_prompt is not None
    if overridden or target.system_prompt is None or "indomain" not in items:
        return items
    from dataclasses import replace

    rebuilt = [
        replace(
            it,
            messages=policy_messages(it.messages[-1]["content"], target.system_prompt),
            prompt_format="rlev/custom-system-prompt/v1",
        )
        for it in items["indomain"]
    ]
    return {**items, "indomain": rebuilt}


def indomain_rows(config: EvalConfig) -> tuple[list[dict[str, Any]], BadValues]:
    """The rows of the questions table to evaluate (split filter applied), the value column checked: its
    values in [0, 1], else an error (or, with --skip-bad-values, those rows left out and returned)."""
    import pyarrow.compute as pc

    from rlev_cli.schema import UNSCORED_QUESTION_COLUMNS, read_questions

    path = Path(config.data) if config.data else Path(config.workspace) / QUESTIONS_FILE
    table = read_questions(path, UNSCORED_QUESTION_COLUMNS)
    if config.value_column not in table.column_names:
        numeric = [f.name for f in table.schema if pa.types.is_floating(f.type)]
        raise RlevError(
            f"{path}: no column {config.value_column!r} for --value-column; value columns here: "
            f"{', '.join(numeric) or 'none'}"
        )
    if config.split != "all":  # read_questions guarantees the split column
        table = table.filter(pc.equal(table["split"], config.split))
    if table.num_rows == 0:
        raise RlevError(f"{path}: no rows in split {config.split!r} to evaluate")
    table, bad = check_values(table, config.value_column, path, config.skip_bad_values)
    if table.num_rows == 0:
        raise RlevError(f"{path}: every row of split {config.split!r} has a bad {config.value_column!r} value")
    return cast(list[dict[str, Any]], table.to_pylist()), bad


def indomain_items(rows: list[dict[str, Any]], config: EvalConfig, target_prompt: str | None = None) -> list[Item]:
    """In-domain items prompted as in training (prompts.policy_messages). The system prompt: --system-prompt,
    else the one the run was trained with, else the row's own `system_prompt` (when the table has one),
    else the paper's policy prompt; `prompt_format` says which."""
    items = []
    for row in rows:
        prompt, kind = config.system_prompt, "custom"
        if prompt is None and target_prompt is not None:
            prompt = target_prompt
        if prompt is None and row.get("system_prompt") is not None:
            prompt, kind = row["system_prompt"], "row"
        if prompt is None or prompt == SYSTEM_PROMPT:
            prompt, kind = SYSTEM_PROMPT, "policy"
        items.append(
            Item(
                "indomain",
                row["id"],
                policy_messages(row["question"], prompt),
                row["answer"],
                row.get("subject"),
                value=row.get(config.value_column),
                qtype=row["qtype"],
                options=row.get("options") or [],
                prompt_format=f"rlev/{kind}-system-prompt/v1",
            )
        )
    return items


def value_sources(rows: list[dict[str, Any]], column: str) -> dict[str, int]:
    """Where the H-Acc weights come from: `value_source` counts for `value`; the column itself otherwise."""
    from collections import Counter

    if column == "value" and rows and "value_source" in rows[0]:
        return dict(Counter(str(r.get("value_source")) for r in rows if r.get("value") is not None))
    return {f"column {column}": sum(1 for r in rows if r.get(column) is not None)}


def build_items(
    config: EvalConfig,
) -> tuple[dict[str, list[Item]], dict[str, int], dict[str, str], list[dict[str, Any]], BadValues | None]:
    """Items per benchmark, unlabeled counts, the benchmarks that could not be loaded (with why) and the
    in-domain rows. With every benchmark selected, an unavailable one is reported and the others run; an
    explicit list fails before any generation, naming every unavailable benchmark. Last: the in-domain rows
    left out for a bad value (--skip-bad-values), or None without in-domain items."""
    items, unlabeled, missing = {}, {}, {}
    rows: list[dict[str, Any]] = []
    bad: BadValues | None = None
    for benchmark in config.benchmark_list:
        try:
            if benchmark == "indomain":
                rows, bad = indomain_rows(config)
                found, skipped = indomain_items(rows, config), 0
            else:
                found, skipped = load_items(
                    benchmark, config.data_dir, config.seed, config.ceval_split, config.variant(benchmark)
                )
        except RlevError as err:
            missing[benchmark] = str(err)
            continue
        items[benchmark] = found[: config.limit] if config.limit else found
        unlabeled[benchmark] = skipped
    every = set(config.benchmark_list) == set(ALL)
    if missing and (not every or not items):
        if len(missing) == 1:
            raise RlevError(next(iter(missing.values())))
        raise RlevError(
            f"{len(missing)} benchmark(s) unavailable, nothing generated: "
            + "; ".join(f"{b}: {why}" for b, why in missing.items())
        )
    return items, unlabeled, missing, rows, bad


def output_dir(config: EvalConfig, targets: list[Target]) -> Path:
    """--out, else the run's eval/ folder for one run, else a timestamped folder under the workspace."""
    if config.out:
        return Path(config.out)
    if len(targets) == 1 and targets[0].run_dir:
        return targets[0].run_dir / "eval"
    return Path(config.workspace) / "eval" / time.strftime("%Y%m%d-%H%M%S")


def run_evaluation(config: EvalConfig, progress: Callable[[int], Any] | None = None) -> EvalResult:
    """Generate (or read --responses), grade and summarize every target on the selected benchmarks:
    Acc, H-Acc weighted by `config.value_column`, length and value density, per value bucket.

    The judge is checked before any model is built; generation appends to a partial file per benchmark,
    so an interrupted run resumes. `progress` is called with the number of items done."""
    from rlev_cli.verify.grade import make_grader
    from rlev_cli.verify.judge import CACHE_FILE

    if config.data_dir is not None and not Path(config.data_dir).is_dir():
        raise RlevError(f"--data-dir {config.data_dir}: no such folder (it should hold <benchmark>.jsonl files)")
    # The judge is checked first, before a model is built or anything generated: a dead URL costs one line.
    grader = make_grader(
        config.verifier,
        config.judge_url,
        config.judge_model,
        config.verify_timeout,
        concurrency=config.judge_concurrency,
        cache_path=Path(config.workspace) / CACHE_FILE,
        workers=config.verify_workers,
    )
    targets = resolve_targets(config)
    items, unlabeled, missing, rows, bad = build_items(config)
    warnings = [f"{b} not evaluated: {why}" for b, why in missing.items()]
    if bad and bad.n:
        warnings.append(bad.skipped("in-domain row(s)"))
    out_dir = output_dir(config, targets)
    out_dir.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails here, before any model is loaded
    # one evaluation per output folder: two would append to the same partial files and overwrite each other
    with workspace_lock(out_dir, "rlev evaluate", elsewhere="another --out"):
        from rlev_cli.runs import check_train_overlap, refuse_links  # refuses runs evaluated on their training items

        refuse_links(out_dir)  # RUN/eval: nothing is written through a link planted there

        runs = [t.run_dir for t in targets if t.run_dir is not None]
        indomain = [(it.id, it.messages[-1]["content"]) for it in items.get("indomain", [])]
        leakage = check_train_overlap(runs, indomain, config.allow_train_overlap)
        given = read_responses(config.responses, items) if config.responses else None
        predictions, summaries, generated, reused, grading_s = [], [], 0, 0, 0.0
        too_long: dict[str, dict[str, int]] = {}
        for target in targets:
            target_items, rendered, too_long[target.label] = render_items(
                None if given is not None else target.model,
                config.backend,
                for_target(items, target, config),
                config.max_prompt_length,
            )
            if given is not None:
                outputs = given
            else:
                outputs, new, old, stale = generate_all(target, target_items, config, out_dir, progress)
                generated, reused = generated + new, reused + old
                if stale:
                    warnings.append(
                        f"{target.label}: {stale} kept response(s) in {out_dir / '.partial'} were generated with "
                        "another prompt, model or sampling settings (--max-new-tokens, --temperature, --seed, "
                        "--backend); generated again"
                    )
            for benchmark, bench_items in target_items.items():
                started = time.perf_counter()
                try:
                    scored = score(target.label, bench_items, outputs, grader, rendered)
                    grading_s += time.perf_counter() - started
                except RlevError as err:
                    if given is not None:
                        raise
                    raise RlevError(
                        f"{err}; the responses are kept in {out_dir / '.partial'}: rerun to resume"
                    ) from err
                predictions.extend(scored)
                skipped = unlabeled[benchmark] + too_long[target.label][benchmark]  # left out before generation
                summaries.extend(summary_rows(target.label, benchmark, scored, skipped, config.value_column))
                warnings.extend(coverage_warnings(target.label, benchmark, scored))
        summaries.extend(averages(summaries, targets))
        sources = value_sources(rows, config.value_column) if "indomain" in items else {}
        if sources and set(sources) - {"score"} and config.value_column == "value":
            warnings.append(
                "H-Acc is weighted by `value`, which is not ground truth for some rows ("
                + ", ".join(f"{k}={v}" for k, v in sources.items())
                + ")"
                + (
                    "; --value-column value_original weights by the original points"
                    if "value_original" in rows[0]
                    else ""
                )
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        predictions_path, summary_path = out_dir / "predictions.parquet", out_dir / "summary.parquet"
        meta = {
            "benchmarks": list(items),
            "missing_benchmarks": missing,
            "backend": config.backend,
            "max_new_tokens": config.max_new_tokens,
            "temperature": config.temperature,
            "seed": config.seed,
            "eos_counted": False,
            "verifier": grader.verifier,
            "judge_model": config.judge_model,
            "value_column": config.value_column,
            "value_sources": sources,
            "bucket_order": "value ascending, ties by id",
            "max_prompt_length": config.max_prompt_length,
            "too_long": too_long,
            "bad_values": bad.as_dict() if bad else None,
        }
        from rlev_cli.evaluate.plots import PLOTS, render_plots
        from rlev_cli.workspace import write_json_file, write_set

        pngs = render_plots([r for r in summaries if not r["model"].startswith(AVERAGE)])
        writers: dict[str, Writer] = {name: _bytes_writer(png) for name, png in pngs.items()}
        if any(r["overlap"] for r in leakage.values()):
            writers["leakage.json"] = lambda path: write_json_file(path, leakage)
        writers["predictions.parquet"] = parquet_writer(
            pa.Table.from_pylist(predictions, schema=PREDICTIONS), "predictions", meta
        )
        writers["summary.parquet"] = parquet_writer(pa.Table.from_pylist(summaries, schema=SUMMARY), "summary", meta)
        # one set, renamed with Ctrl-C held back: never this run's tables beside an earlier run's plots or
        # leakage report (those this run does not write are removed: they describe another evaluation)
        write_set(out_dir, writers, drop=[name for name in (*PLOTS, "leakage.json") if name not in writers])
        plots = [out_dir / name for name in pngs]
        _clear_partials(out_dir)
    comparison = [
        {k: r[k] for k in ("model", "benchmark", "n", "coverage", "acc", "h_acc", "mean_length", "value_density")}
        for r in summaries
        if r["bucket"] == "all"
    ]
    return EvalResult(
        out_dir,
        predictions_path,
        summary_path,
        plots,
        comparison,
        generated,
        reused,
        unlabeled,
        missing,
        config.value_column,
        sources,
        accuracy_by_value(summaries),
        warnings,
        {
            "verifier": grader.verifier,
            "seconds": round(grading_s, 3),
            "judge_requests": getattr(grader.judge, "requests", None),
            "judge_cache_hits": getattr(grader.judge, "cache_hits", None),
        },
        too_long,
        bad.as_dict() if bad else None,
    )


def read_responses(path: Path, items: dict[str, list[Item]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Given responses keyed by (benchmark, benchmark's own id); ids that match no item are an error."""
    if not Path(path).exists():
        raise RlevError(f"{path}: no such responses file")
    rows = read_rows(path, "responses")
    known = {(b, it.id) for b, its in items.items() for it in its}
    out, unmatched = {}, []
    for number, row in enumerate(rows, start=1):
        missing = [k for k in ("benchmark", "id", "response") if k not in row]
        if missing:
            raise RlevError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
        key = (str(row["benchmark"]), str(row["id"]))
        if key not in known:
            unmatched.append(key)
            continue
        out[key] = {"text": str(row["response"]), "tokens": row.get("response_tokens"), "finish_reason": None}
    if unmatched:
        raise RlevError(
            f"{path}: {len(unmatched)} response(s) match no item of the selected benchmarks, e.g. "
            f"{unmatched[0][0]} id {unmatched[0][1]!r} (check --benchmarks, --split, --limit)"
        )
    for benchmark, bench_items in items.items():  # score only what was answered
        items[benchmark] = [it for it in bench_items if (benchmark, it.id) in out]
    return out


def _bytes_writer(data: bytes) -> Writer:
    """A `write_set` writer of bytes made beforehand (a rendered plot)."""

    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _prompt_sha(item: Item) -> str:
    """Identifies the exact prompt: a resumed run with another variant, seed or system prompt regenerates."""
    import hashlib

    return hashlib.sha256(json.dumps(item.messages, ensure_ascii=False).encode()).hexdigest()[:16]


def _generation_key(model: str, config: EvalConfig) -> str:
    """What made a kept response besides its prompt: the model (a local folder by its files' names, sizes and
    times, so a run's model/ rewritten by a longer run counts as another model; a hub id or served name as
    given), the backend and its server, and the sampling settings. A resume under another key regenerates."""
    import hashlib

    path = Path(model)
    files = sorted(path.iterdir()) if path.is_dir() else [path] if path.is_file() else []
    stats = [(f.name, f.stat()) for f in files]
    stamp = [(name, st.st_size, st.st_mtime_ns) for name, st in stats if stat.S_ISREG(st.st_mode)]
    identity = {
        "model": os.path.abspath(model) if stamp else model,
        "files": stamp,
        "backend": config.backend,
        "base_url": config.base_url if config.backend == "openai" else None,
        "max_new_tokens": config.max_new_tokens,
        "temperature": config.temperature,
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def _partial_path(out_dir: Path, target: Target, benchmark: str) -> Path:
    return out_dir / ".partial" / _safe(target.label) / f"{benchmark}.jsonl"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _clear_partials(out_dir: Path) -> None:
    import shutil

    shutil.rmtree(out_dir / ".partial", ignore_errors=True)


def generate_all(
    target: Target,
    items: dict[str, list[Item]],
    config: EvalConfig,
    out_dir: Path,
    progress: Callable[[int], Any] | None = None,
) -> tuple[dict[tuple[str, str], dict[str, Any]], int, int, int]:
    """Responses for every item; reuses the partial file of an interrupted run and appends as it goes.
    Returns them with how many were generated, reused, and kept but made otherwise (generated again)."""
    from rlev_cli.generate import make_backend

    outputs: dict[tuple[str, str], dict[str, Any]] = {}
    todo: list[tuple[str, Item, Path]] = []
    reused, stale = 0, 0
    key = _generation_key(target.model or "", config)
    for benchmark, bench_items in items.items():
        partial = _partial_path(out_dir, target, benchmark)
        done: dict[str, dict[str, Any]] = {}
        if partial.exists():
            text = partial.read_text(encoding="utf-8")
            if not text.endswith("\n"):  # a line cut by the kill: drop it, so appends start on a fresh line
                text = text[: text.rfind("\n") + 1]
                with partial.open("r+", encoding="utf-8") as handle:
                    handle.truncate(len(text.encode("utf-8")))
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a damaged line: regenerate that item
                done[row["id"]] = row
        for item in bench_items:
            kept = done.get(item.id)
            if kept and kept.get("prompt_sha") == _prompt_sha(item) and kept.get("generation_key") == key:
                outputs[(benchmark, item.id)] = kept  # same prompt, same model and sampling settings
                reused += 1
            else:
                stale += kept is not None
                todo.append((benchmark, item, partial))
    if progress:
        progress(reused)
    if todo:
        if config.backend == "hf":
            from rlev_cli.threads import set_torch_threads

            set_torch_threads(config.threads, target.model)  # the cores free now (docs/training.md#threads)
        backend = make_backend(target.model or "", config)
        chunk = max(CHUNK, config.batch_size)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            generations = backend.generate([item.messages for _, item, _ in batch])
            finished: dict[Path, list[str]] = {}
            for (benchmark, item, partial), gen in zip(batch, generations, strict=True):
                row = {
                    "id": item.id,
                    "prompt_sha": _prompt_sha(item),
                    "generation_key": key,
                    "text": gen.text,
                    "tokens": gen.tokens,
                    "finish_reason": gen.finish_reason,
                }
                finished.setdefault(partial, []).append(json.dumps(row, ensure_ascii=False) + "\n")
                outputs[(benchmark, item.id)] = row
            for partial, lines in finished.items():  # one append and one fsync per file per batch
                partial.parent.mkdir(parents=True, exist_ok=True)
                with partial.open("a", encoding="utf-8") as handle:
                    handle.writelines(lines)
                    handle.flush()
                    os.fsync(handle.fileno())
            if progress:
                progress(len(batch))
    return outputs, len(todo), reused, stale


def score(
    model: str,
    items: list[Item],
    outputs: dict[tuple[str, str], dict[str, Any]],
    grader: Grader | None = None,
    rendered: dict[tuple[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    """One prediction row per item. In domain the Grader decides (rules and/or the judge, one batch call);
    out of domain the benchmark's official extractor gives a letter (a miss is wrong)."""
    from rlev_cli.verify import extract_final_answer
    from rlev_cli.verify.extract import last_line
    from rlev_cli.verify.grade import Grader

    texts = [outputs[(item.benchmark, item.id)]["text"] for item in items]
    indomain = [k for k, item in enumerate(items) if item.benchmark == "indomain"]
    verdicts = {}
    if indomain:
        grader = grader or Grader("rule")
        graded = grader.grade(
            [items[k].messages[-1]["content"] for k in indomain],
            [texts[k] for k in indomain],
            [items[k].gold for k in indomain],
            [items[k].qtype or "free_form" for k in indomain],
        )
        verdicts = dict(zip(indomain, graded, strict=True))
    rows = []
    extracted: str | None
    for k, item in enumerate(items):
        out, text = outputs[(item.benchmark, item.id)], texts[k]
        if k in verdicts:
            verdict = verdicts[k]
            if verdict.source == "judge":  # what the judge saw: the final step only
                extracted, extractor = last_line(text), "judge_last_line"
            else:
                extracted, extractor = extract_final_answer(text), "final_answer"
            correct, source, reason, judge_score = verdict.correct, verdict.source, verdict.reason, verdict.judge_score
            cause = verdict.cause
        else:
            extracted, extractor = extract_answer(item, text)
            correct, source, reason, judge_score, cause = extracted == item.gold, "rule", "", None, ""
        rows.append(
            {
                "model": model,
                "benchmark": item.benchmark,
                "id": item.id,
                "subject": item.subject,
                "prompt": item.messages[-1]["content"],
                "rendered_prompt": (rendered or {}).get((item.benchmark, item.id)),  # None: a server rendered it
                "response": text,
                "extracted": extracted,
                "extractor": extractor,
                "gold": item.gold,
                "correct": correct,
                "verdict_source": source,
                "ungraded_reason": reason or None,
                "ungraded_cause": cause or None,
                "judge_score": judge_score,
                "value": item.value,
                "response_tokens": out.get("tokens"),
                "finish_reason": out.get("finish_reason"),
                "perm": item.perm,
                "prompt_format": item.prompt_format,
            }
        )
    return rows


def summary_rows(
    model: str, benchmark: str, rows: list[dict[str, Any]], unlabeled: int, value_column: str = "value"
) -> list[dict[str, Any]]:
    """The "all" row (with coverage = graded / all responses) and, in domain, the value buckets."""
    graded = [r for r in rows if r["correct"] is not None]
    skipped = len(rows) - len(graded) + unlabeled
    lengths = [r["response_tokens"] if r["response_tokens"] is not None else float("nan") for r in graded]
    # an in-domain row without a value (an unscored question) weighs 0 in H-Acc
    values = [r["value"] or 0.0 for r in graded] if benchmark == "indomain" else None
    base = {
        "model": model,
        "benchmark": benchmark,
        "n_skipped": skipped,
        "value_column": value_column if values is not None else None,
    }
    empty = {"acc": None, "h_acc": None, "mean_length": None, "value_density": None}
    coverage = 100.0 * len(graded) / len(rows) if rows else None
    out = [
        {
            **base,
            **empty,
            "bucket": "all",
            "bucket_low": None,
            "bucket_high": None,
            "coverage": coverage,
            "n_ungraded_response": sum(r.get("ungraded_cause") == "response" for r in rows),
            **summarize([r["correct"] for r in graded], lengths, values),
        }
    ]
    if values is not None and any(values):  # no value at all: nothing to cut into value buckets
        for bucket in bucket_rows([r["id"] for r in graded], [r["correct"] for r in graded], lengths, values):
            out.append({**base, **empty, **bucket, "n_skipped": 0, "coverage": None})
    return out


def coverage_warnings(model: str, benchmark: str, rows: list[dict[str, Any]]) -> list[str]:
    """One line when some responses are ungraded: Acc and H-Acc then cover fewer responses than the paper's."""
    from collections import Counter

    lines = []
    if benchmark == "indomain" and rows and not any(r.get("value") for r in rows):
        lines.append(
            f"{model} {benchmark}: no item has a value (all unscored, or all 0): H-Acc is undefined and no value "
            "buckets were made; give the table points at ingest, or fill values with `rlev predict-values`"
        )
    wrong = [r for r in rows if r.get("ungraded_cause") == "response"]
    if wrong:
        reason, count = Counter(r["ungraded_reason"] or "no reason" for r in wrong).most_common(1)[0]
        lines.append(
            f"{model} {benchmark}: {len(wrong)} response(s) could not be graded because of what they wrote and "
            f"count as wrong in Acc and H-Acc; most common reason ({count}x): {reason}"
        )
    ungraded = [r for r in rows if r["correct"] is None]
    if not ungraded:
        return lines
    reason, count = Counter(r["ungraded_reason"] or "no reason" for r in ungraded).most_common(1)[0]
    share = 100.0 * (len(rows) - len(ungraded)) / len(rows)
    return [
        *lines,
        f"{model} {benchmark}: coverage {share:.1f} % ({len(rows) - len(ungraded)}/{len(rows)} graded); Acc and "
        f"H-Acc are over the graded responses only (the paper's are over all); most common reason ({count}x): "
        f"{reason}; see ungraded_reason in predictions.parquet",
    ]


AVERAGE = "Average/"  # model label prefix of the paper's "Average" rows (Table 1)


def averages(summaries: list[dict[str, Any]], targets: list[Target]) -> list[dict[str, Any]]:
    """The paper's "Average" rows: for each reward mode run with several estimators, Acc, H-Acc and length
    averaged over the runs and the value density as the mean of per-run densities (metrics.average_rows),
    for the "all" row and each value bucket."""
    by_reward: dict[str, list[str]] = {}
    for target in targets:
        if target.reward:
            by_reward.setdefault(target.reward, []).append(target.label)
    out = []
    for reward, labels in by_reward.items():
        if len(labels) < 2:
            continue
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in summaries:
            if row["model"] in labels:
                groups.setdefault((row["benchmark"], row["bucket"]), []).append(row)
        for (benchmark, bucket), rows in groups.items():
            if len(rows) != len(labels):
                continue
            mean = average_rows(
                [{k: _num(r[k]) for k in ("acc", "h_acc", "mean_length", "value_density")} for r in rows]
            )
            coverage = [r["coverage"] for r in rows if r["coverage"] is not None]
            out.append(
                {
                    "model": f"{AVERAGE}{reward}",
                    "benchmark": benchmark,
                    "bucket": bucket,
                    "bucket_low": None,
                    "bucket_high": None,
                    "n": sum(r["n"] for r in rows),
                    "n_skipped": sum(r["n_skipped"] for r in rows),
                    "coverage": sum(coverage) / len(coverage) if coverage else None,
                    "value_column": rows[0]["value_column"],
                    **{k: (None if v != v else v) for k, v in mean.items() if k != "density_of_means"},
                }
            )
    return out


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def accuracy_by_value(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table 8 of the paper: in-domain accuracy (%) on all items, the top 20 % and the bottom 20 % by value."""
    table: dict[str, dict[str, Any]] = {}
    for row in summaries:
        if row["benchmark"] != "indomain":
            continue
        entry = table.setdefault(row["model"], {"model": row["model"]})
        if row["bucket"] == "all":
            entry["acc"] = row["acc"]
        elif row["bucket"] == "top20":
            entry["acc_top20"], entry["n_top20"] = row["acc"], row["n"]
        elif row["bucket"] == "bottom20":
            entry["acc_bottom20"], entry["n_bottom20"] = row["acc"], row["n"]
    keys = ("model", "acc", "acc_top20", "acc_bottom20", "n_top20", "n_bottom20")
    return [{k: entry.get(k) for k in keys} for entry in table.values()]
