from __future__ import annotations

import json

import pytest

from rlev_cli.tiny import build_tiny_model, load_tokenizer


@pytest.mark.parametrize(
    "text",
    [
        "下列说法正确的是（ ）",
        "다음 중 옳은 것은?",
        "次のうち正しいものはどれか。",
        r"$\frac{1}{2} \sqrt{x^2}$ \mathrm{Pb}",
        "emoji 😀 and tabs\t!",
    ],
)
def test_tokenizer_round_trips_every_script(tiny_model_dir, text):
    tokenizer = load_tokenizer(tiny_model_dir)
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_tiny_model_is_qwen2_with_vllm_head_dim_chat_template_and_eos(tiny_model_dir):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["head_dim"] >= 32
    tokenizer = load_tokenizer(tiny_model_dir)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and config["eos_token_id"] == tokenizer.eos_token_id


def test_deterministic_under_seed(tmp_path, tiny_model_dir):
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert (again / "model.safetensors").read_bytes() == (tiny_model_dir / "model.safetensors").read_bytes()
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert (other / "model.safetensors").read_bytes() != (tiny_model_dir / "model.safetensors").read_bytes()
