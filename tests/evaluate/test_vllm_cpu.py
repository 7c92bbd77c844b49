"""vLLM offline generation for real, on vLLM's CPU build and the tiny model (head_dim 32).

vLLM pins its own transformers, so it lives in its own environment: CI builds one and points
RLEV_VLLM_PYTHON at its interpreter (see .ci/run). Same prompts and scoring as the transformers backend.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from tests.conftest import OOD, ingest_examples

VLLM_PYTHON = sys.executable if importlib.util.find_spec("vllm") else os.environ.get("RLEV_VLLM_PYTHON")
runner = CliRunner()


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON, reason="no vLLM environment (set RLEV_VLLM_PYTHON; .ci/run builds one)")
def test_vllm_cpu_backend_matches_transformers(tmp_path, workspace):
    ingest_examples()
    common = [
        "evaluate",
        "--model",
        "tiny",
        "--benchmarks",
        "indomain,mmlu_pro",
        "--data-dir",
        str(OOD),
        "--limit",
        "4",
        "--max-new-tokens",
        "12",
        "--json",
    ]
    hf = runner.invoke(app, [*common, "--out", str(tmp_path / "hf")])
    assert hf.exit_code == 0, hf.output
    env = {**os.environ, "RLEV_WORKSPACE": str(workspace), "VLLM_CPU_KVCACHE_SPACE": "1"}
    result = subprocess.run(
        [
            VLLM_PYTHON,
            "-m",
            "rlev_cli",
            *common,
            "--backend",
            "vllm",
            "--gpu-memory-utilization",
            "0.1",
            "--out",
            str(tmp_path / "vllm"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["generated"] == 8
    by_backend = {name: pq.read_table(tmp_path / name / "predictions.parquet").to_pylist() for name in ("hf", "vllm")}
    for hf_row, vllm_row in zip(by_backend["hf"], by_backend["vllm"], strict=True):
        assert hf_row["prompt"] == vllm_row["prompt"] and hf_row["id"] == vllm_row["id"]
        assert vllm_row["response_tokens"] == 12 and vllm_row["finish_reason"] == "length"
    same = sum(h["response"] == v["response"] for h, v in zip(by_backend["hf"], by_backend["vllm"], strict=True))
    assert same >= 6  # greedy decoding agrees (fp32 kernels may differ on a near-tie)
