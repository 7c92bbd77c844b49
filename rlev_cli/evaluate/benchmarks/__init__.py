"""The OOD benchmarks: one module per benchmark, each declaring its hub source, loader, prompt variants and
extractors in one `BENCHMARK` (see `base.Benchmark`); `registry` finds them and does the lookups.

Each benchmark follows its official convention (docs/evaluation.md); the variant used is recorded per item
in `prompt_format`. Items are plain dataclasses; extraction is a pure function.

`OOD`, `ALL`, `VARIANTS` and `HUB` are read from the registry when asked for, so a registered benchmark
appears in them (and in `--benchmarks`, `--variant`) without a list to edit.
"""

from __future__ import annotations

from typing import Any

from rlev_cli.evaluate.benchmarks.base import (
    LETTERS,
    SHOTS,
    Benchmark,
    Extraction,
    Extractor,
    Hub,
    Item,
    Source,
    Variant,
    user,
)
from rlev_cli.evaluate.benchmarks.ceval import (
    CEVAL_SUBJECTS,
    ceval_item,
    extract_ceval,
    extract_ceval_cot,
    extract_ceval_few_shot,
)
from rlev_cli.evaluate.benchmarks.gpqa_diamond import extract_gpqa, extract_gpqa_lm_eval, gpqa_item, gpqa_permutation
from rlev_cli.evaluate.benchmarks.mmlu_pro import extract_mmlu_pro, extract_mmlu_pro_lm_eval, mmlu_pro_item
from rlev_cli.evaluate.benchmarks.registry import (
    benchmarks,
    extract_answer,
    get,
    load_hub,
    load_items,
    read_local,
    read_rows,
    register,
)
from rlev_cli.evaluate.benchmarks.supergpqa import extract_supergpqa, supergpqa_item

__all__ = [
    "ALL",
    "CEVAL_SUBJECTS",
    "HUB",
    "LETTERS",
    "OOD",
    "SHOTS",
    "VARIANTS",
    "Benchmark",
    "Extraction",
    "Extractor",
    "Hub",
    "Item",
    "Source",
    "Variant",
    "benchmarks",
    "ceval_item",
    "extract_answer",
    "extract_ceval",
    "extract_ceval_cot",
    "extract_ceval_few_shot",
    "extract_gpqa",
    "extract_gpqa_lm_eval",
    "extract_mmlu_pro",
    "extract_mmlu_pro_lm_eval",
    "extract_supergpqa",
    "get",
    "gpqa_item",
    "gpqa_permutation",
    "load_hub",
    "load_items",
    "mmlu_pro_item",
    "read_local",
    "read_rows",
    "register",
    "supergpqa_item",
    "user",
]


def __getattr__(name: str) -> Any:
    """The choice lists, derived from the registry on each access."""
    table = benchmarks()
    if name == "OOD":
        return tuple(table)
    if name == "ALL":
        return ("indomain", *table)  # in domain: the questions table (evaluate/core.py), no module here
    if name == "VARIANTS":
        return {b.name: tuple(v.name for v in b.variants) for b in table.values()}
    if name == "HUB":
        return {b.name: (b.hub.id, b.hub.config, b.hub.split) for b in table.values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
