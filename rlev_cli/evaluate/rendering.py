"""What a local model is shown: each item's prompt rendered through the model's own chat template (kept in
predictions.parquet as `rendered_prompt`), and the prompts over --max-prompt-length tokens left out."""

from __future__ import annotations

from typing import Any

from rlev_cli.evaluate.benchmarks import Item

Rendered = dict[tuple[str, str], str]  # (benchmark, item id) -> the prompt text the model saw


def render_items(
    model: str | None, backend: str, items: dict[str, list[Item]], max_prompt_length: int | None
) -> tuple[dict[str, list[Item]], Rendered, dict[str, int]]:
    """The items to generate for, their rendered prompts and, per benchmark, how many prompts were left out
    for being longer than `max_prompt_length` tokens (counted as the trainer counts them: generate.prompt_token_count).

    With no local tokenizer (an OpenAI-compatible server renders its own prompts; --responses) nothing is
    rendered and nothing counted (EvalConfig refuses --max-prompt-length there)."""
    if model is None or backend == "openai":
        return items, {}, {benchmark: 0 for benchmark in items}
    from rlev_cli.generate import prompt_token_count, render
    from rlev_cli.tiny import load_tokenizer

    tokenizer: Any = load_tokenizer(model)
    kept: dict[str, list[Item]] = {}
    rendered: Rendered = {}
    too_long: dict[str, int] = {}
    for benchmark, bench_items in items.items():
        kept[benchmark], too_long[benchmark] = [], 0
        for item in bench_items:
            if max_prompt_length is not None and prompt_token_count(tokenizer, item.messages) > max_prompt_length:
                too_long[benchmark] += 1
                continue
            kept[benchmark].append(item)
            rendered[(benchmark, item.id)] = render(tokenizer, item.messages)
    return kept, rendered, too_long
