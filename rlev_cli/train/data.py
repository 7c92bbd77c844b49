"""The training set: the train split of the questions table as TRL rows (prompt + reward columns)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.errors import RlevError
from rlev_cli.generate import prompt_token_count
from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
from rlev_cli.rewards import prepare_values
from rlev_cli.schema import UNSCORED_QUESTION_COLUMNS, read_questions_hashed
from rlev_cli.valuecheck import BadValues, check_values

COLUMNS = ("id", "answer", "qtype")


@dataclass
class TrainRows:
    """The train rows with a value, and what was left out on the way (reported, never silent)."""

    rows: list[dict[str, Any]]
    n_train_split: int  # rows of the train split
    n_without_value: int  # of those, rows whose value column is null (left out)
    bad_values: BadValues  # of those, rows whose value is NaN, infinite, < 0 or > 1 (left out with --skip-bad-values)
    data_sha256: str = ""  # SHA-256 of the table's bytes these rows were parsed from (the run's provenance)


def load_train_rows(
    path: Path, value_column: str, max_rows: int | None = None, skip_bad_values: bool = False
) -> TrainRows:
    table, sha256 = read_questions_hashed(path, UNSCORED_QUESTION_COLUMNS)
    if value_column not in table.column_names:
        raise RlevError(
            f"{path}: no value column {value_column!r} (columns: {', '.join(table.column_names)}); "
            "run `rlev predict-values` or pass --value-column"
        )
    train, n_train, n_without_value, bad_values = split_with_values(table, "train", value_column, path, skip_bad_values)
    if train.num_rows == 0:
        raise RlevError(
            f"{path}: no train rows with a {value_column!r} value ({n_without_value} train row(s) without one"
            + (f", {bad_values.n} with a bad one left out" if bad_values.n else "")
            + "); "
            "run `rlev predict-values`, ingest more exams or lower --test-fraction"
        )
    if max_rows:
        train = train.slice(0, max_rows)
    return TrainRows(value_rows(train, value_column), n_train, n_without_value, bad_values, sha256)


def split_with_values(
    table: pa.Table, split: str, value_column: str, path: Path, skip_bad_values: bool
) -> tuple[pa.Table, int, int, BadValues]:
    """The rows of one split that have a value, checked (rlev_cli.valuecheck, the whole split before any
    --max-train-samples); with the split's size and how many rows were left out for a null value. An error
    about the test split (the eval set of --eval-steps) says so; the train split's is the plain one."""
    part = table.filter(pc.equal(table["split"], split))
    valued = part.filter(pc.is_valid(part[value_column]))
    rows = "row(s)" if split == "train" else f"{split}-split row(s)"
    checked, bad_values = check_values(valued, value_column, path, skip_bad_values, rows)
    return checked, part.num_rows, part.num_rows - valued.num_rows, bad_values


def value_rows(table: pa.Table, value_column: str) -> list[dict[str, Any]]:
    """The rows TRL gets: question, id, answer, qtype, the row's system prompt where the table has the column
    (the release's own policy prompt; older tables do not), and the value as `value`."""
    extra = ["system_prompt"] if "system_prompt" in table.column_names else []
    rows: list[dict[str, Any]] = table.select(["question", *COLUMNS, value_column, *extra]).to_pylist()
    for row in rows:
        row["value"] = float(row.pop(value_column)) if value_column != "value" else float(row["value"])
    return rows


def row_system_prompt(row: dict[str, Any], system_prompt: str | None) -> str:
    """An explicit --system-prompt wins; else the row's own system prompt; else the paper's policy prompt."""
    if system_prompt is not None:
        return system_prompt
    return row.get("system_prompt") or SYSTEM_PROMPT


def to_prompts(
    rows: list[dict[str, Any]],
    system_prompt: str | None,
    reward: str,
    alpha: float,
    seed: int,
    tokenizer: Any,
    max_prompt_length: int,
) -> tuple[list[dict[str, Any]], float, int]:
    """Chat prompts, the values the reward sees (shuffled for --reward shuffled), the uniform scale s̄,
    and how many rows were left out for prompts over max_prompt_length tokens."""
    values, mean_scale = prepare_values([r["value"] for r in rows], reward, alpha, seed)
    out, too_long = [], 0
    for row, value in zip(rows, values, strict=True):
        prompt = policy_messages(row["question"], row_system_prompt(row, system_prompt))
        if prompt_token_count(tokenizer, prompt) > max_prompt_length:
            too_long += 1
            continue
        out.append(
            {
                "prompt": prompt,
                "question": row["question"],
                "id": row["id"],
                "answer": row["answer"],
                "qtype": row["qtype"],
                "value": value,
            }
        )
    return out, mean_scale, too_long
