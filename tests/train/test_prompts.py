"""The policy prompt of each training row: --system-prompt if given, else the row's system_prompt column
(the RLEV release's own prompt), else the paper's policy prompt; tables without the column still train."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from rlev_cli.prompts import SYSTEM_PROMPT
from rlev_cli.tiny import load_tokenizer
from rlev_cli.train.data import load_train_rows, to_prompts

from .test_advantages import two_prompt_table

RELEASE_PROMPT = "A conversation between User and Assistant. Put the final answer in \\boxed{}."


def with_system_prompts(path, prompts):
    table = pq.read_table(path)
    column = pa.array(prompts, pa.string())
    if "system_prompt" in table.column_names:  # the questions schema carries the column (null when unknown)
        table = table.set_column(table.column_names.index("system_prompt"), "system_prompt", column)
    else:
        table = table.append_column("system_prompt", column)
    pq.write_table(table, path)
    return path


def system_turns(path, tiny_model_dir, system_prompt=None):
    rows = load_train_rows(path, "value").rows
    prompts, _, _ = to_prompts(rows, system_prompt, "rlev", 10.0, 0, load_tokenizer(str(tiny_model_dir)), 1024)
    return {p["id"]: [m["content"] for m in p["prompt"] if m["role"] == "system"] for p in prompts}


def test_row_system_prompt_is_used_unless_the_option_is_given(tmp_path, tiny_model_dir):
    path = with_system_prompts(two_prompt_table(tmp_path / "q.parquet"), [RELEASE_PROMPT, None])
    assert system_turns(path, tiny_model_dir) == {"high": [RELEASE_PROMPT], "low": [SYSTEM_PROMPT]}
    assert system_turns(path, tiny_model_dir, "Be brief.") == {"high": ["Be brief."], "low": ["Be brief."]}


def test_table_without_the_column_uses_the_paper_prompt(tmp_path, tiny_model_dir):
    path = two_prompt_table(tmp_path / "q.parquet")
    table = pq.read_table(path)
    pq.write_table(table.drop_columns([c for c in table.column_names if c == "system_prompt"]), path)
    assert "system_prompt" not in pq.read_table(path).column_names
    assert system_turns(path, tiny_model_dir) == {"high": [SYSTEM_PROMPT], "low": [SYSTEM_PROMPT]}
