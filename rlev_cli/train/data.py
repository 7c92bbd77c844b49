"""The training set: the train split of the questions table as TRL rows (prompt + reward columns)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from rlev_cli.errors import RlevError
from rlev_cli.rewards import prepare_values
from rlev_cli.schema import UNSCORED_QUESTION_COLUMNS, read_questions

COLUMNS = ("id", "answer", "qtype")


def load_train_rows(path: Path, value_column: str, max_rows: int | None = None) -> list[dict[str, Any]]:
    table = read_questions(path, UNSCORED_QUESTION_COLUMNS)
    if value_column not in table.column_names:
        raise RlevError(
            f"{path}: no value column {value_column!r} (columns: {', '.join(table.column_names)}); "
            "run `rlev predict-values` or pass --value-column"
        )
    table = table.filter(pc.and_(pc.equal(table["split"], "train"), pc.is_valid(table[value_column])))
    if table.num_rows == 0:
        raise RlevError(
            f"{path}: no train rows with a {value_column!r} value; ingest more exams or lower --test-fraction"
        )
    if max_rows:
        table = table.slice(0, max_rows)
    rows = table.select(["question", *COLUMNS, value_column]).to_pylist()
    for row in rows:
        row["value"] = float(row.pop(value_column)) if value_column != "value" else float(row["value"])
    return rows


def to_prompts(
    rows: list[dict], system_prompt: str, reward: str, alpha: float, seed: int, tokenizer: Any, max_prompt_length: int
) -> tuple[list[dict], float, int]:
    """Chat prompts, the values the reward sees (shuffled for --reward shuffled), the uniform scale s̄,
    and how many rows were left out for prompts over max_prompt_length tokens."""
    values, mean_scale = prepare_values([r["value"] for r in rows], reward, alpha, seed)
    out, too_long = [], 0
    for row, value in zip(rows, values, strict=True):
        prompt = [{"role": "system", "content": system_prompt}, {"role": "user", "content": row["question"]}]
        n_tokens = len(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True))
        if n_tokens > max_prompt_length:
            too_long += 1
            continue
        out.append({"prompt": prompt, "id": row["id"], "answer": row["answer"], "qtype": row["qtype"], "value": value})
    return out, mean_scale, too_long
