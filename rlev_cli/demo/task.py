"""The synthetic exam of `rlev demo`: papers as files, and the small model + vocabulary that learns them.

Four question types with exact answers that `rlev_cli.verify.check` grades by rule:

| qtype | question | answer |
| --- | --- | --- |
| numeric | `add 3 4 8` | `15` |
| single_choice | `max A 3 B 7 C 5 D 1` (the option holding the largest digit) | `B` |
| multi_choice | `even A 3 B 4 C 6 D 1` (every option holding an even digit) | `BC` |
| fill_blank | `sort 7 1 3` (the digits in ascending order) | `137` |

Each paper holds `questions_per_paper` questions; a question's points are drawn from `POINTS`
independently of its type and operands (so of its difficulty), and the paper's total is the sum of its
points (a complete paper, written as the record's `total`). v = points / total is then right-skewed like
the paper's data, with some questions worth 10-25 % of their paper (s(x) = 2 at α = 10).

The vocabulary is 22 tokens: digits, option letters, the four operation words, `=`, pad, EOS and unk. The
chat template renders only the user turn (`add 3 4 8 =`) and the assistant answer: a 22-token vocabulary
has no words for a system prompt, so the system turn is dropped by the template, in training and in
evaluation alike.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # transformers is imported only when the model is built
    from transformers import PreTrainedTokenizerFast

POINTS = (1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12)  # drawn per question, independent of the type
OPTIONS = "ABCD"
OPERATIONS = ("add", "max", "even", "sort")
PAD, EOS, UNK = "<|endoftext|>", "<|im_end|>", "<unk>"
VOCAB = [PAD, EOS, UNK, *"0123456789", *OPTIONS, *OPERATIONS, "="]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ message['content'] }} ={% endif %}"
    "{% if message['role'] == 'assistant' %} {{ message['content'] }}" + EOS + "{% endif %}"
    "{% endfor %}"
)
DEMO_MARKER = "rlev_tiny.json"  # the marker rlev_cli.tiny.load_tokenizer uses to load our tokenizer as itself


def _digits(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(10) for _ in range(n)]


def _add(rng: random.Random) -> tuple[str, str, str]:
    xs = _digits(rng, rng.choice((2, 3)))
    return "numeric", "add " + " ".join(map(str, xs)), str(sum(xs))


def _labelled(xs: list[int]) -> str:
    return " ".join(f"{letter} {x}" for letter, x in zip(OPTIONS, xs, strict=True))


def _max(rng: random.Random) -> tuple[str, str, str]:
    xs = rng.sample(range(10), 4)  # distinct: exactly one right option
    return "single_choice", "max " + _labelled(xs), OPTIONS[xs.index(max(xs))]


def _even(rng: random.Random) -> tuple[str, str, str]:
    xs = _digits(rng, 4)
    while all(x % 2 for x in xs):
        xs = _digits(rng, 4)
    return "multi_choice", "even " + _labelled(xs), "".join(o for o, x in zip(OPTIONS, xs, strict=True) if x % 2 == 0)


def _sort(rng: random.Random) -> tuple[str, str, str]:
    xs = _digits(rng, rng.choice((3, 4)))
    return "fill_blank", "sort " + " ".join(map(str, xs)), "".join(map(str, sorted(xs)))


MAKERS: tuple[Callable[[random.Random], tuple[str, str, str]], ...] = (_add, _max, _even, _sort)


def make_papers(n_papers: int, questions_per_paper: int, seed: int) -> list[list[dict[str, Any]]]:
    """Papers of distinct questions; each record is in the `rlev` ingest format (query, label, score,
    total) plus `exam_id` and `qtype`. Deterministic under `seed`.

    >>> paper = make_papers(1, 4, seed=0)[0]
    >>> sum(r["score"] for r in paper) == paper[0]["total"], sorted({r["exam_id"] for r in paper})
    (True, ['demo-paper-000'])
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    papers = []
    for p in range(n_papers):
        records: list[dict[str, Any]] = []
        while len(records) < questions_per_paper:
            qtype, question, answer = rng.choice(MAKERS)(rng)
            if question in seen:  # ingest rejects exact duplicates; draw another
                continue
            seen.add(question)
            records.append({"query": question, "label": answer, "score": float(rng.choice(POINTS)), "qtype": qtype})
        total = sum(r["score"] for r in records)
        papers.append([{**r, "total": total, "exam_id": f"demo-paper-{p:03d}"} for r in records])
    return papers


def write_papers(papers: list[list[dict[str, Any]]], folder: Path) -> list[Path]:
    """One JSONL file per paper (`paper-000.jsonl`, ...), as `rlev ingest` reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, paper in enumerate(papers):
        path = folder / f"paper-{k:03d}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in paper), encoding="utf-8")
        paths.append(path)
    return paths


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer over VOCAB: operation words whole, every other character its own token;
    decoding joins tokens without spaces, so the answer `1 5` reads back as `15`."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex("|".join(OPERATIONS) + "|."), "isolated")]
    )
    tokenizer.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
        model_max_length=64,
    )


def build_model(path: Path, seed: int = 0, hidden_size: int = 96, layers: int = 4) -> Path:
    """Write a random Qwen2-style model (≈ 0.45M parameters) with the demo tokenizer to `path`."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from rlev_cli.tiny import quiet_transformers

    quiet_transformers()
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    # head_dim goes through the config's **kwargs: transformers' strict dataclass signature lists only its
    # declared fields
    config = Qwen2Config(  # type: ignore[call-arg]
        vocab_size=len(VOCAB),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=hidden_size // 32,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / DEMO_MARKER).write_text(json.dumps({"seed": seed, "demo": True}) + "\n", encoding="utf-8")
    return path
