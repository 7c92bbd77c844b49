"""--max-prompt-length counts real tokens (transformers 5's apply_chat_template(tokenize=True) is a dict, whose
len() is 2 for every prompt), in train and evaluate, with the tiny tokenizer and SmolLM2's from its GGUF file."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.generate import prompt_token_count, render
from rlev_cli.tiny import load_tokenizer
from rlev_cli.train.data import load_train_rows, to_prompts
from tests.conftest import EXAMPLES

runner = CliRunner()
# Token counts of the 16 train prompts of examples/rlev_release (system turn + question + generation prompt),
# in table order, counted once by hand from the rendered text and pinned
TINY_COUNTS = [122, 157, 106, 86, 116, 146, 157, 134, 216, 282, 202, 180, 215, 277, 243, 209]
SMOLLM2_COUNTS = [89, 90, 91, 76, 84, 87, 87, 90, 154, 179, 145, 125, 142, 186, 172, 144]


@pytest.fixture
def release(workspace):
    result = runner.invoke(app, ["ingest", str(EXAMPLES / "rlev_release")])
    assert result.exit_code == 0, result.output
    return workspace / "questions.parquet"


@pytest.fixture(params=["tiny", pytest.param("smollm2", marks=pytest.mark.slow)])
def tokenizer_and_counts(request):
    if request.param == "tiny":
        return load_tokenizer(request.getfixturevalue("tiny_model_dir")), TINY_COUNTS
    return load_tokenizer(request.getfixturevalue("smollm2_dir")), SMOLLM2_COUNTS


def test_counts_are_the_tokens_the_model_is_given(release, tokenizer_and_counts):
    tokenizer, expected = tokenizer_and_counts
    prompts, _, too_long = to_prompts(load_train_rows(release, "value").rows, None, "rlev", 10.0, 0, tokenizer, 4096)
    assert too_long == 0
    counts = [prompt_token_count(tokenizer, p["prompt"]) for p in prompts]
    assert counts == expected
    # the same ids as encoding the rendered text the generation backends feed the model
    assert counts == [
        len(tokenizer(render(tokenizer, p["prompt"]), add_special_tokens=False)["input_ids"]) for p in prompts
    ]


@pytest.mark.parametrize("limit_rank", [0, 5, 8, 15])
def test_train_leaves_out_exactly_the_prompts_over_the_limit(release, tokenizer_and_counts, limit_rank):
    tokenizer, expected = tokenizer_and_counts
    limit = sorted(expected)[limit_rank]
    rows = load_train_rows(release, "value").rows
    prompts, _, too_long = to_prompts(rows, None, "rlev", 10.0, 0, tokenizer, limit)
    assert too_long == sum(c > limit for c in expected)
    assert [p["id"] for p in prompts] == [r["id"] for r, c in zip(rows, expected, strict=True) if c <= limit]


def test_train_counts_them_in_the_summary_and_manifest(release, tiny_model_dir, workspace):
    run = workspace / "runs" / "short"
    args = ["train", "--model", str(tiny_model_dir), "--max-prompt-length", "157", "--max-steps", "1"]
    args += ["--max-completion-length", "4", "--output", str(run), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    manifest = json.loads((run / "manifest.json").read_text())
    assert (summary["prompts"], summary["prompts_too_long"]) == (8, 8)  # the 8 Chinese prompts are 180-282 tokens
    assert (manifest["n_prompts"], manifest["n_too_long"]) == (8, 8)


def test_evaluate_leaves_out_and_counts_them_per_model_and_benchmark(release, tiny_model_dir, workspace):
    out = workspace / "eval"
    args = ["evaluate", "--model", str(tiny_model_dir), "--max-prompt-length", "150", "--max-new-tokens", "2"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    tokenizer = load_tokenizer(str(tiny_model_dir))
    predictions = pq.read_table(out / "predictions.parquet").to_pylist()
    lengths = [len(tokenizer(p["rendered_prompt"], add_special_tokens=False)["input_ids"]) for p in predictions]
    assert len(predictions) == 3 and max(lengths) <= 150
    label = tiny_model_dir.name
    assert json.loads(result.stdout)["prompts_too_long"] == {label: {"indomain": 3}}
    summary = [r for r in pq.read_table(out / "summary.parquet").to_pylist() if r["bucket"] == "all"]
    assert [(r["n"], r["n_skipped"]) for r in summary] == [(3, 3)]
    meta = json.loads(pq.read_schema(out / "predictions.parquet").metadata[b"rlev"])
    assert (meta["max_prompt_length"], meta["too_long"]) == (150, {label: {"indomain": 3}})


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--responses", "r.jsonl"], "--responses"),
        (["--backend", "openai", "--base-url", "http://x/v1"], "--backend openai"),
    ],
)
def test_evaluate_refuses_the_limit_where_no_tokenizer_counts(args, where):
    result = runner.invoke(app, ["evaluate", *args, "--model", "m", "--max-prompt-length", "10"])
    assert result.exit_code == 1
    assert (
        str(result.exception)
        == f"--max-prompt-length counts tokens with the model's own tokenizer; it cannot with {where}"
    )
