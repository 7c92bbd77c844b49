"""The offline tiny model: a small random Qwen2-style causal LM and a locally trained byte-level BPE.

Nothing is downloaded. head_dim is 32 so vLLM's CPU build can run it; the byte-level tokenizer
round-trips any text (Chinese, Korean, Japanese, LaTeX). Deterministic under the seed; cached under
`<workspace>/models/tiny-seed<seed>` so every stage finds the same model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rlev_cli.errors import RlevError

if TYPE_CHECKING:  # transformers is imported only when a model is built or loaded
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

TINY_NAMES = ("tiny",)
TINY_MARKER = "rlev_tiny.json"  # our own tokenizer: load it as itself, never through AutoTokenizer
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# A small multilingual corpus so the BPE merges cover the scripts exams use; any byte still encodes.
_CORPUS = [
    "Therefore, the answer is A. Therefore, the answer is 42. The answer is (B).",
    "You are a chatbot who can solve problems. Please solve the following problem and give your thought "
    'process. Before giving the final result, you should output "Therefore, the answer is", and then '
    "give your final answer.",
    "下列说法正确的是 答案是 所以答案是 选择题 每小题5分 满分150分 已知函数 求证 解：",
    "다음 중 옳은 것은? 정답은 함수 값은 구하시오 수능 수학",
    "次のうち正しいものはどれか。答えは ひらがな カタカナ 漢字",
    r"$\frac{1}{2}$ \sqrt{x} \int_0^1 x^2 dx \sum_{i=1}^n a_i \mathrm{Pb} \left( x \right) \times 10^{3}",
    "A. 1 B. 2 C. 3 D. 4 (A) (B) (C) (D) 0 1 2 3 4 5 6 7 8 9 10 100 0.5 1.00 76.25",
    "Question: Which of the following is correct? Options: Answer: Let's think step by step.",
]


def is_tiny(model: str | Path | None) -> bool:
    return str(model) in TINY_NAMES


def tiny_model_path(workspace: Path, seed: int = 0) -> Path:
    """Build (once) and return the tiny model folder in the workspace."""
    path = Path(workspace) / "models" / f"tiny-seed{seed}"
    if not (path / "config.json").exists():
        from rlev_cli.workspace import workspace_lock

        # Two commands starting at once build it once: the second waits, then finds it built (building it
        # again would replace the folder under the first one's feet).
        with workspace_lock(path.parent, f"build the tiny model {path.name}", wait=True):
            if not (path / "config.json").exists():
                build_tiny_model(path, seed=seed)
    return path


def build_tokenizer(vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on a small built-in corpus, with the Qwen chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )


def build_tiny_model(path: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2ForCausalLM + tokenizer to `path` (atomically: a temp folder renamed)."""
    import os
    import shutil
    import tempfile

    import torch
    import transformers
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    transformers.utils.logging.disable_progress_bar()
    path = Path(path)
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    # head_dim and torch_dtype go through the config's **kwargs: transformers' strict dataclass signature
    # lists only its declared fields
    config = Qwen2Config(  # type: ignore[call-arg]
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / TINY_MARKER).write_text(f'{{"seed": {seed}}}\n', encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_tokenizer(model: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a model folder or hub id, left-padded with a pad token. Our tiny tokenizer is
    loaded as itself (AutoTokenizer would rebuild it as a Qwen2Tokenizer; notes/trl.md)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer: PreTrainedTokenizerBase
    if (Path(model) / TINY_MARKER).exists():
        tokenizer = PreTrainedTokenizerFast.from_pretrained(model)
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(model))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def quiet_transformers() -> None:
    """Keep transformers' own logs, progress bars and v6-rename FutureWarnings off our terminal."""
    import warnings

    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")  # v6 renames, not ours


def resolve_model(model: str, workspace: Path) -> str:
    """'tiny' -> the built tiny model; a local folder -> itself; else a hub id that must be reachable
    (or cached) now, before any heavy work."""
    if is_tiny(model):
        return str(tiny_model_path(workspace, seed=0))
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise RlevError(f"{path}: not a Hugging Face model folder (no config.json)")
        return str(path)
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise RlevError(f"model path {model} does not exist")
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return model
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise RlevError(
            f"model {model!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1; "
            "download it first or pass a local path"
        )
    try:
        from huggingface_hub import model_info

        model_info(model, timeout=10)
    except Exception as err:  # network or auth failure: say it in one line
        raise RlevError(
            f"model {model!r}: cannot reach the Hugging Face Hub and it is not cached "
            f"({type(err).__name__}); pass a local path or --model tiny"
        ) from err
    return model
