"""What every benchmark module declares: its hub source, its loader and its prompt variants with their
extractors, in one `Benchmark` value named `BENCHMARK` (the registry finds it; see docs/evaluation.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlev_cli.errors import RlevError

LETTERS = "ABCDEFGHIJ"
SHOTS = 5  # few-shot exemplars per category/subject, as the official scripts and lm-eval use

# (letter or None, which rule found it: a pattern level, "miss", ...); recorded per prediction
Extraction = tuple[str | None, str]
# (response, the item's options in prompt order) -> Extraction; options feed the option-text fallbacks
Extractor = Callable[[str, Sequence[str]], Extraction]


@dataclass
class Item:
    """One prompt to answer: its benchmark and id, the chat messages, the gold letter (or reference
    answer in domain) and what grading and the summary need (value, qtype, options, the permutation)."""

    benchmark: str
    id: str
    messages: list[dict[str, str]]
    gold: str  # letter, or the reference answer in domain
    subject: str | None = None
    value: float | None = None
    qtype: str | None = None
    options: list[str] = field(default_factory=list)
    perm: list[int] | None = None
    prompt_format: str = ""


def user(text: str, system: str | None = None) -> list[dict[str, str]]:
    """Chat messages for one prompt: the user turn, after a system turn when one is given."""
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


@dataclass(frozen=True)
class Hub:
    """A Hugging Face dataset: `datasets.load_dataset(id, config, split=split)`."""

    id: str
    config: str | None
    split: str


@dataclass(frozen=True)
class Source:
    """Where one benchmark's rows come from: the `--data-dir` file when there is one, else the hub.

    `fetch(config, split)` loads from the hub (None = the benchmark's default config/split); loaders that
    need other splits (few-shot exemplars) or configs (C-Eval's 52 subjects) call `hub(...)` with them."""

    local: list[dict[str, Any]] | None
    fetch: Callable[[str | None, str | None], list[dict[str, Any]]]

    def hub(self, config: str | None = None, split: str | None = None) -> list[dict[str, Any]]:
        return self.fetch(config, split)

    def rows(self) -> list[dict[str, Any]]:
        """The local rows, else the hub's default config and split."""
        return self.local if self.local is not None else self.hub()


@dataclass(frozen=True)
class Variant:
    """One prompt convention and the extractor of the harness it comes from.

    `stop`: the harness's generation stop strings; a response is cut at the first one before extraction,
    so text a backend generated past them is scored as the official run (which never produced it) would.
    `version` is bumped whenever the prompt text changes, so `prompt_format` tells old outputs apart."""

    name: str
    extract: Extractor
    stop: tuple[str, ...] = ()
    version: int = 1

    def cut(self, response: str) -> str:
        """The response up to the earliest stop string (vLLM's and lm-eval's `until` semantics)."""
        ends = [i for i in (response.find(s) for s in self.stop) if i >= 0]
        return response[: min(ends)] if ends else response


# (rows source, variant name, seed, split to score) -> (items, rows without a label: counted, never scored)
Loader = Callable[[Source, str, int, str], tuple[list[Item], int]]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark in one place. `variants[0]` is the default; `order` places it in `--benchmarks all`
    (the four built-in ones keep their historical order; a new one defaults to after them)."""

    name: str
    hub: Hub
    load: Loader
    variants: tuple[Variant, ...]
    order: int = 100

    def variant(self, name: str | None = None) -> Variant:
        if name is None:
            return self.variants[0]
        for variant in self.variants:
            if variant.name == name:
                return variant
        known = ", ".join(v.name for v in self.variants)
        raise RlevError(f"{self.name}: unknown prompt variant {name!r}; choose from {known}")

    def prompt_format(self, variant: str) -> str:
        """What an item records: `<benchmark>/<variant>/v<version>`."""
        return f"{self.name}/{variant}/v{self.variant(variant).version}"


def first_shots(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """The first SHOTS rows of each group, in file order (the official `first_n` sampler)."""
    shots: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        group = shots.setdefault(str(row[key]), [])
        if len(group) < SHOTS:
            group.append(row)
    return shots
