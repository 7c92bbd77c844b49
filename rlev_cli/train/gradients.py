"""The mechanism measured: how much policy gradient each value bucket contributes on a fixed batch.

The paper's analysis (arXiv 2510.20187 §2.4) says s(x) multiplies the policy gradient of every prompt.
Whether it still does after an estimator's baseline and normalisation is checked here on real tensors:
for a fixed batch of sampled completions (prompts × G, graded once), each reward mode gives rewards
r = s(x)·c, each estimator turns them into advantages, and for every value bucket b

    g_b = ∇θ  Σ_{i ∈ b} A_i · Σ_t log π_θ(y_it | x_i, y_i<t)  / N

is back-propagated through the model. The high/low ratio ||g_top|| / ||g_bottom||, divided by the same
ratio under `correctness`, is the tilt the values add: ≈ mean s(top) / mean s(bottom) for `rlev` under a
scale-keeping estimator, 1 for `correctness` and `uniform`, ≈ 1 on average for `shuffled`, and exactly 1
for GRPO with per-group std scaling (s cancels: the reason `rlev train` refuses that setting).

Pure functions: tensors and a model in, numbers out. Nothing here trains or writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch

from rlev_cli.rewards import prepare_values, value_scale

ESTIMATORS = ("rloo", "grpo_none", "grpo_batch", "reinforce++", "grpo_group")
BUCKETS = (("bottom20", 0.0, 0.2), ("middle60", 0.2, 0.8), ("top20", 0.8, 1.0))  # as evaluate/metrics.py


@dataclass
class ProbeBatch:
    """A fixed batch: N = prompts × G sequences, consecutive groups of G completions of one prompt."""

    input_ids: torch.Tensor  # (N, L) prompt + completion, left-padded prompts
    attention_mask: torch.Tensor  # (N, L)
    completion_mask: torch.Tensor  # (N, L) 1 on completion tokens (EOS included)
    values: list[float]  # (N,) v of each sequence's prompt
    correct: list[bool]  # (N,) graded once
    num_generations: int


def mode_scales(values: Sequence[float], mode: str, alpha: float = 10.0, seed: int = 0) -> list[float]:
    """s(x) per prompt as `rlev train --reward MODE` applies it (shuffled: values permuted first).

    >>> mode_scales([0.0, 0.05, 0.3], "rlev"), mode_scales([0.0, 0.3], "correctness")
    ([1.0, 1.5, 2.0], [1.0, 1.0])
    """
    seen, mean_scale = prepare_values(values, mode, alpha, seed)
    if mode == "correctness":
        return [1.0] * len(values)
    if mode == "uniform":
        return [mean_scale] * len(values)
    return [value_scale(v, alpha) for v in seen]


def advantages(rewards: torch.Tensor, num_generations: int, estimator: str, lengths: torch.Tensor) -> torch.Tensor:
    """Sequence advantages (N,) as each estimator computes them from scalar rewards (KL left out).

    rloo: r − mean of the other G−1 (TRL RLOOTrainer); grpo_none: r − group mean; grpo_batch: that ÷ the
    batch std of r; grpo_group: ÷ the group std (TRL's default, Bessel-corrected, + 1e-4); reinforce++: no
    baseline, token-level whitening over the batch (OpenRLHF), each sequence's tokens sharing its value.

    >>> r = torch.tensor([2.0, 0.0, 1.0, 0.0])
    >>> advantages(r, 2, "rloo", torch.ones(4)).tolist()
    [2.0, -2.0, 1.0, -1.0]
    >>> [round(a, 3) for a in advantages(r, 2, "grpo_group", torch.ones(4)).tolist()]
    [0.707, -0.707, 0.707, -0.707]
    """
    grouped = rewards.view(-1, num_generations)
    g = num_generations
    if estimator == "rloo":
        return (grouped - (grouped.sum(1, keepdim=True) - grouped) / (g - 1)).view(-1)
    centred = (grouped - grouped.mean(1, keepdim=True)).view(-1)
    if estimator == "grpo_none":
        return centred
    if estimator == "grpo_batch":
        return centred / (rewards.std() + 1e-4)
    if estimator == "grpo_group":
        return centred / (grouped.std(1, keepdim=True).expand_as(grouped).reshape(-1) + 1e-4)
    if estimator == "reinforce++":
        weights = lengths.to(rewards.dtype)
        mean = (weights * rewards).sum() / weights.sum()
        var = (weights * (rewards - mean) ** 2).sum() / weights.sum()
        return (rewards - mean) * torch.rsqrt(var.clamp(min=1e-8))
    raise ValueError(f"unknown estimator {estimator!r}; choose from {', '.join(ESTIMATORS)}")


def value_buckets(values: Sequence[float]) -> list[str]:
    """The bucket of each sequence: prompts ranked by value (ties by position), cut at 20 % / 80 %."""
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    names = [""] * len(values)
    for name, low, high in BUCKETS:
        for i in order[round(low * len(order)) : round(high * len(order))]:
            names[i] = name
    return names


def sequence_logps(model: Any, batch: ProbeBatch) -> torch.Tensor:
    """Σ_t log π(y_t) over completion tokens, per sequence (N,), with gradient."""
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, :-1]
    targets = batch.input_ids[:, 1:]
    logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    return (logps * batch.completion_mask[:, 1:]).sum(1)


def bucket_gradient_norms(model: Any, batch: ProbeBatch, seq_advantages: torch.Tensor) -> dict[str, float]:
    """||∇θ Σ_{i∈b} A_i log π(y_i|x_i) / N|| for each value bucket b (L2 over all trainable parameters)."""
    buckets = value_buckets(batch.values)
    params = [p for p in model.parameters() if p.requires_grad]
    norms = {}
    for name, _, _ in BUCKETS:
        member = torch.tensor([b == name for b in buckets], dtype=seq_advantages.dtype)
        if not member.any():
            continue
        logps = sequence_logps(model, batch)
        objective = (seq_advantages.detach() * member * logps).sum() / len(buckets)
        grads = torch.autograd.grad(objective, params, allow_unused=True)
        squares = sum((g.float() ** 2).sum() for g in grads if g is not None)  # the objective reaches some
        norms[name] = float(torch.sqrt(cast(torch.Tensor, squares)))  # parameter, so a tensor, never sum()'s 0
    return norms


def tilt_rows(
    model: Any,
    batch: ProbeBatch,
    modes: Sequence[str] = ("correctness", "rlev", "uniform", "shuffled"),
    estimators: Sequence[str] = ("rloo", "grpo_group"),
    alpha: float = 10.0,
    shuffle_seeds: Sequence[int] = (0, 1, 2, 3, 4, 5, 6, 7),
) -> list[dict[str, Any]]:
    """One row per (estimator, mode): gradient norm per bucket, the top/bottom ratio, that ratio relative
    to `correctness` on the same batch (the tilt), and the mean s(x) ratio top/bottom the mode applies.
    `shuffled` is averaged over `shuffle_seeds` permutations (≈ 1 on average, not per permutation)."""
    buckets = value_buckets(batch.values)
    correct = torch.tensor(batch.correct, dtype=torch.float32)
    lengths = batch.completion_mask.sum(1)
    g = batch.num_generations
    prompt_values = batch.values[::g]
    rows = []
    for estimator in estimators:
        reference = None
        for mode in modes:
            seeds = shuffle_seeds if mode == "shuffled" else (0,)
            per_seed = []
            for seed in seeds:
                scales = torch.tensor(mode_scales(prompt_values, mode, alpha, seed)).repeat_interleave(g)
                norms = bucket_gradient_norms(model, batch, advantages(scales * correct, g, estimator, lengths))
                s_top = _mean([float(s) for s, b in zip(scales, buckets, strict=True) if b == "top20"])
                s_bottom = _mean([float(s) for s, b in zip(scales, buckets, strict=True) if b == "bottom20"])
                per_seed.append((norms, s_top / s_bottom))
            norms = {k: _mean([n[k] for n, _ in per_seed]) for k in per_seed[0][0]}
            ratio = _mean([n["top20"] / n["bottom20"] for n, _ in per_seed])
            if mode == "correctness":
                reference = ratio
            rows.append(
                {
                    "estimator": estimator,
                    "mode": mode,
                    **{f"grad_norm_{k}": v for k, v in norms.items()},
                    "grad_ratio_top_bottom": ratio,
                    "tilt_vs_correctness": ratio / reference if reference else float("nan"),
                    "s_ratio_top_bottom": _mean([s for _, s in per_seed]),
                    "n_permutations": len(seeds),
                }
            )
    return rows


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def sample_probe_batch(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[list[dict[str, str]]],
    answers: Sequence[str],
    qtypes: Sequence[str],
    values: Sequence[float],
    num_generations: int = 4,
    max_new_tokens: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
) -> ProbeBatch:
    """Sample G completions per chat prompt (as training does: temperature 1, EOS kept in the completion)
    and grade each once with the shared verifier."""
    from rlev_cli.verify import check

    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    ids = encoded["input_ids"].repeat_interleave(num_generations, 0)
    mask = encoded["attention_mask"].repeat_interleave(num_generations, 0)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=temperature,
            top_k=0,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    completion = out[:, ids.shape[1] :]
    is_eos = completion == tokenizer.eos_token_id
    # tokens up to and including the first EOS (TRL's completion mask)
    after_eos = (is_eos.cumsum(1) - is_eos.long()) > 0
    completion_mask = (~after_eos).long()
    texts_out = tokenizer.batch_decode(completion * completion_mask, skip_special_tokens=True)
    rep = num_generations
    correct = [bool(check(t, answers[i // rep], qtypes[i // rep]) or 0.0) for i, t in enumerate(texts_out)]
    return ProbeBatch(
        input_ids=out,
        attention_mask=torch.cat([mask, completion_mask], 1),
        completion_mask=torch.cat([torch.zeros_like(mask), completion_mask], 1),
        values=[float(values[i // rep]) for i in range(len(texts_out))],
        correct=correct,
        num_generations=num_generations,
    )
