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
