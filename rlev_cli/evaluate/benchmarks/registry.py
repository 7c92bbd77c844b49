"""The benchmark registry: every module of this package that defines `BENCHMARK` is one benchmark.

`load_items` and `extract_answer` look the benchmark and its variant up here; nothing else in rlev names a
benchmark, so a new one is one new module (docs/evaluation.md, "Adding a benchmark")."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.evaluate.benchmarks.base import Benchmark, Extraction, Item, Source

_NOT_BENCHMARKS = {"base", "registry"}
_BENCHMARKS: dict[str, Benchmark] | None = None  # None until the package has been scanned


def _discover() -> list[Benchmark]:
    package = importlib.import_module(__package__ or "rlev_cli.evaluate.benchmarks")
    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name in _NOT_BENCHMARKS or module.name.startswith("_"):
            continue
        benchmark = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "BENCHMARK", None)
        if isinstance(benchmark, Benchmark):
            found.append(benchmark)
    return found


def _table(found: list[Benchmark]) -> dict[str, Benchmark]:
    """By name, in `--benchmarks all` order (`order`, then name); a name declared twice is an error."""
    table: dict[str, Benchmark] = {}
    for benchmark in sorted(found, key=lambda b: (b.order, b.name)):
        if table.setdefault(benchmark.name, benchmark) is not benchmark:
            raise RlevError(f"benchmark {benchmark.name!r} is declared twice")
    return table


def benchmarks() -> Mapping[str, Benchmark]:
    """Every benchmark by name, in `--benchmarks all` order (the package is scanned once)."""
    global _BENCHMARKS
    if _BENCHMARKS is None:
        _BENCHMARKS = _table(_discover())
    return MappingProxyType(_BENCHMARKS)


def register(benchmark: Benchmark) -> Benchmark:
    """Add a benchmark declared outside this package (a plugin, a test); returns it unchanged."""
    global _BENCHMARKS
    _BENCHMARKS = _table([*benchmarks().values(), benchmark])
    return benchmark


def get(name: str) -> Benchmark:
    found = (_BENCHMARKS if _BENCHMARKS is not None else benchmarks()).get(name)
    if found is None:
        raise RlevError(f"unknown benchmark {name!r}")
    return found


# -- rows: --data-dir files or the hub -------------------------------------------------------------


def read_rows(path: Path, what: str) -> list[dict[str, Any]]:
    """The records of a `.parquet`, `.csv` or JSONL file (UTF-8 with or without BOM); one clear error otherwise."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
            return rows
        if path.suffix == ".csv":
            import csv

            with path.open(encoding="utf-8-sig", newline="") as handle:
                return list(csv.DictReader(handle))
        return [json.loads(line) for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except (json.JSONDecodeError, OSError, ValueError) as err:  # ValueError covers pyarrow's ArrowInvalid
        raise RlevError(f"{path}: cannot read {what} ({err})") from err


def read_local(data_dir: Path, benchmark: str) -> list[dict[str, Any]] | None:
    """`<benchmark>.jsonl|.parquet|.csv` in the hub schema, or None when absent."""
    for suffix in (".jsonl", ".parquet", ".csv"):
        path = Path(data_dir) / f"{benchmark}{suffix}"
        if path.exists():
            return read_rows(path, "benchmark rows")
    return None


def load_hub(benchmark: str, config: str | None = None, split: str | None = None) -> list[dict[str, Any]]:
    """`datasets.load_dataset` on the benchmark's hub id (its default config and split unless given)."""
    hub = get(benchmark).hub
    try:
        from datasets import load_dataset

        return list(load_dataset(hub.id, config or hub.config, split=split or hub.split))
    except Exception as err:  # offline, gated (GPQA) or missing: one line that says what to do
        raise RlevError(
            f"{benchmark}: cannot load {hub.id} from the Hugging Face Hub ({type(err).__name__}); "
            f"pass --data-dir DIR with {benchmark}.jsonl in the hub schema"
        ) from err


# -- the two lookups -------------------------------------------------------------------------------


def load_items(
    benchmark: str, data_dir: Path | None, seed: int, ceval_split: str = "val", variant: str | None = None
) -> tuple[list[Item], int]:
    """Items of one OOD benchmark and how many rows were unlabeled (skipped, never scored).

    `ceval_split` is the split to score for a benchmark that has several (C-Eval: val or test)."""
    spec = get(benchmark)
    chosen = spec.variant(variant).name
    local = read_local(data_dir, benchmark) if data_dir else None
    # load_hub looked up at call time, so tests can replace it
    source = Source(local, lambda config, split: load_hub(benchmark, config, split))
    try:
        return spec.load(source, chosen, seed, ceval_split)
    except KeyError as err:
        raise RlevError(f"{benchmark}: rows lack the hub column {err}; keep the hub schema") from err


def extract_answer(item: Item, response: str) -> Extraction:
    """The letter the response gives under the item's prompt variant, and which rule found it."""
    variant = get(item.benchmark).variant(item.prompt_format.split("/")[1])
    return variant.extract(variant.cut(response), item.options)
