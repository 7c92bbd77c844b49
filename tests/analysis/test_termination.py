"""`rlev analyze termination` (Figure 2) on the tiny model: teacher-forced P(EOS) per position."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.analysis.termination import average_curves, eos_curve, select_extremes
from rlev_cli.cli import app
from rlev_cli.schema import PREDICTIONS

RESPONSES = ["Therefore, the answer is A.", "The answer is 42", "B", "so", "Therefore, the answer is 7."]


def _run(tmp_path, tiny_model_dir, name: str, reward: str):
    run = tmp_path / name
    shutil.copytree(tiny_model_dir, run / "model")
    (run / "config.json").write_text(json.dumps({"algo": "rloo", "reward": reward}))
    rows = [
        {
            "model": f"rloo/{reward}",
            "benchmark": "indomain",
            "id": f"q{i}",
            "prompt": f"Question {i}: what is {i} + 1?",
            "response": text,
            "correct": i % 2 == 0,
            "value": 0.01 * (i + 1),
        }
        for i, text in enumerate(RESPONSES)
    ]
    (run / "eval").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=PREDICTIONS), run / "eval" / "predictions.parquet")
    return run


def test_select_extremes_takes_the_top_and_bottom_by_value():
    rows = [{"id": f"q{i}", "value": v} for i, v in enumerate([0.3, 0.1, 0.2, 0.1, 0.5])]
    groups = select_extremes(rows, 2)
    assert [r["id"] for r in groups["high"]] == ["q0", "q4"] and [r["id"] for r in groups["low"]] == ["q1", "q3"]
    assert [len(g) for g in select_extremes(rows, 200).values()] == [2, 2]  # at most half each: disjoint


def test_average_counts_only_responses_that_reach_a_position():
    assert average_curves([[0.1, 0.9], [0.3]]) == [(0, 0.2, 2), (1, 0.9, 1)]


def test_termination_command_writes_the_table_and_plot(tmp_path, tiny_model_dir):
    base, rlev = _run(tmp_path, tiny_model_dir, "base", "correctness"), _run(tmp_path, tiny_model_dir, "rl", "rlev")
    result = CliRunner().invoke(app, ["analyze", "termination", str(base), str(rlev), "--n", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_per_group"] == {"rloo/correctness": 2, "rloo/rlev": 2}
    table = pq.read_table(base / "analysis" / "termination.parquet").to_pylist()
    assert (base / "analysis" / "termination.png").stat().st_size > 1000
    assert {(r["run"], r["group"]) for r in table} == {
        (run, group) for run in ("rloo/correctness", "rloo/rlev") for group in ("high", "low")
    }
    assert all(0.0 <= r["p_eos"] <= 1.0 for r in table)

    # position 0 of the high group is the mean P(EOS) right after the prompt, recomputed by hand
    from transformers import AutoModelForCausalLM

    from rlev_cli.generate import render
    from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
    from rlev_cli.tiny import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()
    high = [(3, RESPONSES[3]), (4, RESPONSES[4])]  # the two highest values: q3, q4
    curves = [
        eos_curve(
            model, tokenizer, render(tokenizer, policy_messages(f"Question {i}: what is {i} + 1?", SYSTEM_PROMPT)), text
        )
        for i, text in high
    ]
    first = next(r for r in table if r["run"] == "rloo/correctness" and r["group"] == "high" and r["position"] == 0)
    assert first["n"] == 2 and first["p_eos"] == pytest.approx((curves[0][0] + curves[1][0]) / 2, rel=1e-5)
    longest = max(len(c) for c in curves)
    assert max(r["position"] for r in table if r["group"] == "high" and r["run"] == "rloo/rlev") == longest - 1


def test_termination_without_predictions_says_what_to_run(tmp_path, tiny_model_dir):
    run = _run(tmp_path, tiny_model_dir, "base", "correctness")
    (run / "eval" / "predictions.parquet").unlink()
    result = CliRunner().invoke(app, ["analyze", "termination", str(run)])
    assert result.exit_code == 1
    assert "run `rlev evaluate" in str(result.exception)


def test_a_model_is_analysed_on_its_rows_with_the_prompt_it_saw(tmp_path, tiny_model_dir):
    """--model (the base model, e.g. a GGUF file): its rows of a shared predictions file, by its evaluate label,
    and the recorded rendered_prompt (here with another system turn) rather than a rebuilt one."""
    from transformers import AutoModelForCausalLM

    from rlev_cli.generate import render
    from rlev_cli.prompts import SYSTEM_PROMPT, policy_messages
    from rlev_cli.tiny import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir))
    rows = []
    for label in (tiny_model_dir.name, "other"):
        for i, text in enumerate(RESPONSES):
            messages = policy_messages(f"Question {i}: what is {i} + 1?", "Be brief.")
            rows.append(
                {
                    "model": label,
                    "benchmark": "indomain",
                    "id": f"q{i}",
                    "prompt": messages[-1]["content"],
                    "rendered_prompt": render(tokenizer, messages),
                    "response": text,
                    "value": 0.01 * (i + 1),
                }
            )
    predictions = tmp_path / "eval" / "predictions.parquet"
    predictions.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=PREDICTIONS), predictions)
    args = ["analyze", "termination", "--model", str(tiny_model_dir), "--predictions", str(predictions), "--n", "1"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_per_group"] == {tiny_model_dir.name: 1}
    table = pq.read_table(tmp_path / "eval" / "analysis" / "termination.parquet").to_pylist()
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).eval()
    seen = eos_curve(model, tokenizer, rows[4]["rendered_prompt"], RESPONSES[4])
    rebuilt = eos_curve(model, tokenizer, render(tokenizer, policy_messages(rows[4]["prompt"], SYSTEM_PROMPT)), "x")
    high = [r["p_eos"] for r in table if r["group"] == "high"]
    assert high == pytest.approx(seen, rel=1e-5) and high[0] != pytest.approx(rebuilt[0], rel=1e-3)


def test_a_model_needs_predictions_and_a_bad_gguf_is_named(tmp_path):
    result = CliRunner().invoke(app, ["analyze", "termination", "--model", "smollm2-135m-instruct"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "--model needs --predictions: the predictions.parquet of `rlev evaluate --model ...`"
    )
    bad, predictions = tmp_path / "x.gguf", tmp_path / "p.parquet"
    bad.write_bytes(b"PK\x03\x04 a zip, not a model")
    pq.write_table(
        pa.Table.from_pylist(
            [{"model": "x.gguf", "benchmark": "indomain", "id": "q", "value": 0.5}], schema=PREDICTIONS
        ),
        predictions,
    )
    result = CliRunner().invoke(app, ["analyze", "termination", "--model", str(bad), "--predictions", str(predictions)])
    assert result.exit_code == 1
    assert str(result.exception) == f"{bad}: not a GGUF file (it starts with b'PK\\x03\\x04', not b'GGUF')"
