"""`rlev evaluate` and lm-evaluation-harness on the same questions, model and prompt variant agree item by item.

Runs benchmarks/lm_eval_parity.py (both harnesses, the tiny model, greedy) when lm-eval can be imported here
or RLEV_LM_EVAL_PYTHON names an interpreter that has it; docs/evaluation.md shows the real model's figures."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

LM_EVAL_PYTHON = os.environ.get("RLEV_LM_EVAL_PYTHON") or (
    sys.executable if importlib.util.find_spec("lm_eval") else None
)


@pytest.mark.slow
@pytest.mark.skipif(LM_EVAL_PYTHON is None, reason="lm-eval not installed (pip install lm-eval)")
def test_rlev_and_lm_eval_agree_item_by_item(tmp_path):
    script = REPO / "benchmarks" / "lm_eval_parity.py"
    args = ["--model", "tiny", "--limit", "3", "--max-new-tokens", "12", "--out", str(tmp_path), "--json"]
    proc = subprocess.run(
        [sys.executable, str(script), *args, "--lm-eval-python", str(LM_EVAL_PYTHON)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    counts = {
        bench: (row["n"], row["same_prompt"], row["same_response"], row["same_extracted"], row["same_correct"])
        for bench, row in report["benchmarks"].items()
    }
    # 3 questions each (GPQA: 3 synthetic rows), every rendered prompt, response, answer and verdict identical
    assert counts == {"mmlu_pro": (3, 3, 3, 3, 3), "gpqa_diamond": (3, 3, 3, 3, 3), "ceval": (3, 3, 3, 3, 3)}
    assert all(row["acc_rlev"] == row["acc_lm_eval"] for row in report["benchmarks"].values())
