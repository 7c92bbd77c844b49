"""`run_evaluation`: models or runs in, predictions.parquet + summary.parquet + plots out.

Flow per model: build the items of each benchmark -> generate what the partial file does not hold yet
(appending as batches finish, so a killed run resumes) -> score -> metrics. Then one comparison.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from rlev_cli.config import SYSTEM_PROMPT, EvalConfig
from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks import Item, extract_answer, load_items, read_rows, user
from rlev_cli.evaluate.metrics import bucket_rows, summarize
from rlev_cli.schema import PREDICTIONS, SUMMARY, write_table
from rlev_cli.workspace import QUESTIONS_FILE, RUNS_DIR

CHUNK = 32  # prompts generated between two appends to the partial file


@dataclass
class Target:
    label: str
    model: str | None  # path or hub id; None when scoring given responses
    run_dir: Path | None
    system_prompt: str = SYSTEM_PROMPT  # in domain: the prompt the run was trained with


@dataclass
class EvalResult:
    out_dir: Path
    predictions_path: Path
    summary_path: Path
    plots: list[Path]
    comparison: list[dict[str, Any]]
    generated: int
    reused: int
    skipped_unlabeled: dict[str, int]


def resolve_targets(config: EvalConfig) -> list[Target]:
    from rlev_cli.tiny import is_tiny
    from rlev_cli.train.core import latest_run, resolve_model

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
        targets.append(Target(model if is_tiny(model) else Path(model).name or model, path, None))
    runs = list(config.runs)
    if not runs and not targets:
        latest = latest_run(Path(config.workspace) / RUNS_DIR)
        if latest is None:
            raise RlevError(
                f"no run in {Path(config.workspace) / RUNS_DIR}; train one (`rlev train`) or pass RUN_DIR or --model"
            )
        runs = [latest]
    for run in runs:
        if not (Path(run) / "model" / "config.json").exists():
            raise RlevError(f"{run}: no model/ folder with a Hugging Face model; is it a finished `rlev train` run?")
        targets.append(_run_target(Path(run)))
    labels = [t.label for t in targets]
    for k, target in enumerate(targets):  # several runs of one recipe: keep labels unique
        if labels.count(target.label) > 1:
            target.label = f"{target.label}#{labels[: k + 1].count(target.label)}"
    return targets


def _run_target(run: Path) -> Target:
    """Label `algo/reward` and the system prompt from the run's resolved config (read once); the folder
    name and the default prompt when it has none."""
    try:
        config = json.loads((run / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    label = f"{config['algo']}/{config['reward']}" if "algo" in config and "reward" in config else run.name
    return Target(label, str(run / "model"), run, config.get("system_prompt") or SYSTEM_PROMPT)


def for_target(items: dict[str, list[Item]], target: Target) -> dict[str, list[Item]]:
    """In-domain prompts with the system prompt the target was trained with."""
    if target.system_prompt == SYSTEM_PROMPT or "indomain" not in items:
        return items
    from dataclasses import replace

    rebuilt = [replace(it, messages=user(it.messages[-1]["content"], target.system_prompt)) for it in items["indomain"]]
    return {**items, "indomain": rebuilt}


def indomain_items(config: EvalConfig) -> list[Item]:
    import pyarrow.compute as pc

    from rlev_cli.schema import UNSCORED_QUESTION_COLUMNS, read_questions

    path = Path(config.data) if config.data else Path(config.workspace) / QUESTIONS_FILE
    table = read_questions(path, UNSCORED_QUESTION_COLUMNS)
    if config.split != "all":  # read_questions guarantees the split column
        table = table.filter(pc.equal(table["split"], config.split))
    if table.num_rows == 0:
        raise RlevError(f"{path}: no rows in split {config.split!r} to evaluate")
    return [
        Item(
            "indomain",
            row["id"],
            user(row["question"], SYSTEM_PROMPT),
            row["answer"],
            row.get("subject"),
            value=row.get("value"),
            qtype=row["qtype"],
            options=row.get("options") or [],
            prompt_format="rlev/policy-system-prompt/v1",
        )
        for row in table.to_pylist()
    ]


def build_items(config: EvalConfig) -> tuple[dict[str, list[Item]], dict[str, int]]:
    items, unlabeled = {}, {}
    for benchmark in config.benchmark_list:
        if benchmark == "indomain":
            found, skipped = indomain_items(config), 0
        else:
            found, skipped = load_items(
                benchmark, config.data_dir, config.seed, config.ceval_split, config.variant(benchmark)
            )
        items[benchmark] = found[: config.limit] if config.limit else found
        unlabeled[benchmark] = skipped
    return items, unlabeled


def output_dir(config: EvalConfig, targets: list[Target]) -> Path:
    if config.out:
        return Path(config.out)
    if len(targets) == 1 and targets[0].run_dir:
        return targets[0].run_dir / "eval"
    return Path(config.workspace) / "eval" / time.strftime("%Y%m%d-%H%M%S")


def run_evaluation(config: EvalConfig, progress=None) -> EvalResult:
    targets = resolve_targets(config)
    items, unlabeled = build_items(config)
    out_dir = output_dir(config, targets)
    from rlev_cli.evaluate.leakage import check_train_overlap  # refuses runs evaluated on their training items

    runs = [t.run_dir for t in targets if t.run_dir is not None]
    indomain = [(it.id, it.messages[-1]["content"]) for it in items.get("indomain", [])]
    check_train_overlap(runs, indomain, config.allow_train_overlap, out_dir)
    judge = None
    if config.judge_url:
        from rlev_cli.verify.judge import LLMJudge

        judge = LLMJudge(config.judge_url, config.judge_model or "")
    given = read_responses(config.responses, items) if config.responses else None
    predictions, summaries, generated, reused = [], [], 0, 0
    for target in targets:
        target_items = for_target(items, target)
        if given is not None:
            outputs = given
        else:
            outputs, new, old = generate_all(target, target_items, config, out_dir, progress)
            generated, reused = generated + new, reused + old
        for benchmark, bench_items in target_items.items():
            rows = score(target.label, bench_items, outputs, judge)
            predictions.extend(rows)
            summaries.extend(summary_rows(target.label, benchmark, rows, unlabeled[benchmark]))
    out_dir.mkdir(parents=True, exist_ok=True)
    predictions_path, summary_path = out_dir / "predictions.parquet", out_dir / "summary.parquet"
    meta = {
        "benchmarks": config.benchmark_list,
        "backend": config.backend,
        "max_new_tokens": config.max_new_tokens,
        "temperature": config.temperature,
        "seed": config.seed,
        "eos_counted": False,
    }
    write_table(pa.Table.from_pylist(predictions, schema=PREDICTIONS), predictions_path, "predictions", meta)
    write_table(pa.Table.from_pylist(summaries, schema=SUMMARY), summary_path, "summary", meta)
    from rlev_cli.evaluate.plots import write_plots

    plots = write_plots(summaries, out_dir)
    _clear_partials(out_dir)
    comparison = [
        {k: r[k] for k in ("model", "benchmark", "n", "acc", "h_acc", "mean_length", "value_density")}
        for r in summaries
        if r["bucket"] == "all"
    ]
    return EvalResult(out_dir, predictions_path, summary_path, plots, comparison, generated, reused, unlabeled)


def read_responses(path: Path, items: dict[str, list[Item]]) -> dict[tuple[str, str], dict]:
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


def _prompt_sha(item: Item) -> str:
    """Identifies the exact prompt: a resumed run with another variant, seed or system prompt regenerates."""
    import hashlib

    return hashlib.sha256(json.dumps(item.messages, ensure_ascii=False).encode()).hexdigest()[:16]


def _partial_path(out_dir: Path, target: Target, benchmark: str) -> Path:
    return out_dir / ".partial" / _safe(target.label) / f"{benchmark}.jsonl"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _clear_partials(out_dir: Path) -> None:
    import shutil

    shutil.rmtree(out_dir / ".partial", ignore_errors=True)


def generate_all(target: Target, items: dict[str, list[Item]], config: EvalConfig, out_dir: Path, progress=None):
    """Responses for every item; reuses the partial file of an interrupted run and appends as it goes."""
    from rlev_cli.generate import make_backend

    outputs: dict[tuple[str, str], dict] = {}
    todo: list[tuple[str, Item, Path]] = []
    reused = 0
    for benchmark, bench_items in items.items():
        partial = _partial_path(out_dir, target, benchmark)
        done = {}
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
            if item.id in done and done[item.id].get("prompt_sha") == _prompt_sha(item):  # same id, same prompt
                outputs[(benchmark, item.id)] = done[item.id]
                reused += 1
            else:
                todo.append((benchmark, item, partial))
    if progress:
        progress(reused)
    if todo:
        backend = make_backend(
            config.backend,
            target.model or "",
            {
                "batch_size": config.batch_size,
                "max_new_tokens": config.max_new_tokens,
                "temperature": config.temperature,
                "seed": config.seed,
                "tensor_parallel_size": config.tensor_parallel_size,
                "data_parallel_size": config.data_parallel_size,
                "gpu_memory_utilization": config.gpu_memory_utilization,
                "base_url": config.base_url,
                "concurrency": config.concurrency,
            },
        )
        chunk = max(CHUNK, config.batch_size)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            generations = backend.generate([item.messages for _, item, _ in batch])
            finished: dict[Path, list[str]] = {}
            for (benchmark, item, partial), gen in zip(batch, generations, strict=True):
                row = {
                    "id": item.id,
                    "prompt_sha": _prompt_sha(item),
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
    return outputs, len(todo), reused


def score(model: str, items: list[Item], outputs: dict[tuple[str, str], dict], judge=None) -> list[dict]:
    from rlev_cli.verify import check, extract_final_answer

    rows = []
    for item in items:
        out = outputs[(item.benchmark, item.id)]
        text = out["text"]
        if item.benchmark == "indomain":
            extracted, extractor = extract_final_answer(text), "final_answer"
            ok = check(text, item.gold, item.qtype or "free_form")
            if ok is None and judge is not None:
                ok, extractor = judge(item.messages[-1]["content"], text, item.gold), "llm_judge"
            correct = None if ok is None else bool(ok)
        else:
            letter, extractor = extract_answer(item, text)
            extracted, correct = letter, letter == item.gold
        rows.append(
            {
                "model": model,
                "benchmark": item.benchmark,
                "id": item.id,
                "subject": item.subject,
                "prompt": item.messages[-1]["content"],
                "response": text,
                "extracted": extracted,
                "extractor": extractor,
                "gold": item.gold,
                "correct": correct,
                "value": item.value,
                "response_tokens": out.get("tokens"),
                "finish_reason": out.get("finish_reason"),
                "perm": item.perm,
                "prompt_format": item.prompt_format,
            }
        )
    return rows


def summary_rows(model: str, benchmark: str, rows: list[dict], unlabeled: int) -> list[dict]:
    graded = [r for r in rows if r["correct"] is not None]
    skipped = len(rows) - len(graded) + unlabeled
    lengths = [r["response_tokens"] if r["response_tokens"] is not None else float("nan") for r in graded]
    # an in-domain row without a value (an unscored question) weighs 0 in H-Acc
    values = [r["value"] or 0.0 for r in graded] if benchmark == "indomain" else None
    base = {"model": model, "benchmark": benchmark, "n_skipped": skipped}
    empty = {"acc": None, "h_acc": None, "mean_length": None, "value_density": None}
    out = [
        {
            **base,
            **empty,
            "bucket": "all",
            "bucket_low": None,
            "bucket_high": None,
            **summarize([r["correct"] for r in graded], lengths, values),
        }
    ]
    if values is not None and graded:
        for bucket in bucket_rows([r["id"] for r in graded], [r["correct"] for r in graded], lengths, values):
            out.append({**base, **empty, **bucket, "n_skipped": 0})
    return out
