"""Settings of `rlev evaluate`: one declaration each (field = Python argument = YAML key = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.evaluate import benchmarks as registry
from rlev_cli.generate import BACKENDS
from rlev_cli.settings import setting
from rlev_cli.threads import ThreadSettings
from rlev_cli.valuecheck import ValueSettings
from rlev_cli.verify.settings import GradingSettings
from rlev_cli.workspace import WorkspaceSettings


@dataclass
class EvalConfig(GradingSettings, ThreadSettings, ValueSettings, WorkspaceSettings):
    """Settings of `rlev evaluate`."""

    runs: list[Path] = setting(factory=list, cli=False, help="Run folders [default: the latest run].")
    models: list[str] = setting(
        factory=list,
        flags=("--model",),
        metavar="ID|PATH|tiny",
        help="Models instead of runs: hub id, folder, GGUF file, smollm2-135m-instruct or 'tiny' (repeatable).",
    )
    data: Path | None = setting(None, help="Questions table for in-domain items [default: the workspace's].")
    split: str = setting("test", help="Split of the questions table to evaluate.")
    benchmarks: str = setting(
        "indomain", help=f"Comma list of {', '.join(registry.ALL)} (or any registered benchmark), or 'all'."
    )
    data_dir: Path | None = setting(
        None, help="Local benchmark files <benchmark>.jsonl|.parquet|.csv in the hub schema, instead of the hub."
    )
    limit: int | None = setting(None, help="At most N items per benchmark (the first N).")
    backend: str = setting("hf", choices=BACKENDS, help="Generation backend.")
    base_url: str | None = setting(None, help="OpenAI-compatible server URL (--backend openai).")
    concurrency: int = setting(16, help="Requests in flight (--backend openai).")
    batch_size: int = setting(8, help="Prompts per generate call (hf).")
    max_new_tokens: int = setting(1024, help="Max generated tokens (paper: 1024).")
    temperature: float = setting(0.0, help="0 = greedy (the paper's evaluation).")
    tensor_parallel_size: int = setting(1, help="vLLM tensor parallel size.")
    data_parallel_size: int = setting(1, help="vLLM data parallel size.")
    gpu_memory_utilization: float = setting(0.9, help="vLLM memory fraction (on CPU: of RAM).")
    responses: Path | None = setting(
        None, help="Score these responses (JSONL/Parquet with benchmark, id, response); no generation."
    )
    ceval_split: str = setting("val", help="C-Eval split (val; test has answers since 2025-07).")
    variants: list[str] = setting(
        factory=list,
        flags=("--variant",),
        metavar="BENCH=NAME",
        help="Prompt variant BENCH=NAME (repeatable), e.g. mmlu_pro=official-cot-5shot (docs/evaluation.md).",
    )
    allow_train_overlap: bool = setting(
        False, help="Evaluate a run even on items it trained on (warned, listed in leakage.json)."
    )
    value_column: str = setting("value", help="Column of v that weights H-Acc (e.g. value_pred).")
    system_prompt: str | None = setting(
        None, help="In-domain system prompt [default: the run's, else each row's system_prompt, else the paper's]."
    )
    max_prompt_length: int | None = setting(
        None, help="Leave out (and count) prompts longer than this many tokens [default: keep all; train: 1024]."
    )
    seed: int = setting(0, help="Seed (GPQA option permutations, sampling).")
    out: Path | None = setting(
        None,
        flags=("--out", "-o"),
        help="Output folder [default: RUN/eval, or <workspace>/eval/<time> for several].",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        ALL, VARIANTS = registry.ALL, registry.VARIANTS  # read now: a benchmark file may have been added since import
        names = ALL if self.benchmarks == "all" else tuple(b.strip() for b in self.benchmarks.split(",") if b.strip())
        unknown = [b for b in names if b not in ALL]
        if unknown or not names:
            raise RlevError(
                f"--benchmarks: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(ALL)} or all"
            )
        self.benchmarks = ",".join(names)
        if self.backend not in BACKENDS:
            raise RlevError(f"--backend {self.backend!r}: choose {', '.join(BACKENDS)}")
        if self.backend == "openai" and not self.base_url and not self.responses:
            raise RlevError("--backend openai needs --base-url")
        if self.max_prompt_length is not None and self.max_prompt_length < 1:
            raise RlevError("--max-prompt-length must be >= 1")
        if self.max_prompt_length is not None and (self.responses or self.backend == "openai"):
            raise RlevError(
                "--max-prompt-length counts tokens with the model's own tokenizer; it cannot with "
                + ("--responses" if self.responses else "--backend openai")
            )
        if self.limit is not None and self.limit < 1:
            raise RlevError("--limit must be >= 1")
        if self.temperature < 0 or self.max_new_tokens < 1 or self.batch_size < 1 or self.concurrency < 1:
            raise RlevError("--temperature >= 0, --max-new-tokens, --batch-size and --concurrency >= 1")
        for spec in self.variants:
            benchmark, _, name = spec.partition("=")
            if benchmark not in VARIANTS or name not in VARIANTS[benchmark]:
                known = "; ".join(f"{b}: {', '.join(v)}" for b, v in VARIANTS.items())
                raise RlevError(f"--variant {spec!r}: unknown; choose BENCH=NAME from {known}")

    @property
    def benchmark_list(self) -> list[str]:
        return self.benchmarks.split(",")

    def variant(self, benchmark: str) -> str | None:
        """The prompt variant asked for this benchmark (the last --variant wins), or None for the default."""
        chosen = [spec.partition("=")[2] for spec in self.variants if spec.partition("=")[0] == benchmark]
        return chosen[-1] if chosen else None
