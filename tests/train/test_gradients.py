"""The gradient-tilt measurement on real tensors: exact cases where the answer is known by arithmetic."""

from __future__ import annotations

import pytest
import torch

from rlev_cli.train.gradients import (
    ProbeBatch,
    advantages,
    bucket_gradient_norms,
    mode_scales,
    tilt_rows,
    value_buckets,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from transformers import AutoModelForCausalLM

    from rlev_cli.demo.task import build_model

    path = build_model(tmp_path_factory.mktemp("demo-model"), seed=0, hidden_size=32, layers=1)
    return AutoModelForCausalLM.from_pretrained(str(path))


def _batch(values_per_prompt: list[float], g: int = 4, length: int = 6) -> ProbeBatch:
    """Random token sequences (prompt 3 tokens + completion), every group mixed: 1 or 2 correct of 4."""
    gen = torch.Generator().manual_seed(0)
    n = len(values_per_prompt) * g
    ids = torch.randint(3, 22, (n, length), generator=gen)
    completion = torch.zeros(n, length, dtype=torch.long)
    completion[:, 3:] = 1
    correct = [(i % g) < (1 + (i // g) % 2) for i in range(n)]
    return ProbeBatch(
        ids, torch.ones_like(ids), completion, [v for v in values_per_prompt for _ in range(g)], correct, g
    )


# 10 prompts: the 2 lowest (v = 0, s = 1) are bottom20, the 2 highest (v = 0.2, s = 2) top20
VALUES = [0.0, 0.0, 0.03, 0.04, 0.05, 0.05, 0.06, 0.07, 0.2, 0.2]


def test_buckets_cut_at_20_and_80_percent():
    names = value_buckets([v for v in VALUES for _ in range(4)])
    assert names.count("bottom20") == 8 and names.count("top20") == 8 and names.count("middle60") == 24
    assert set(names[:8]) == {"bottom20"} and set(names[-8:]) == {"top20"}


def test_rloo_advantages_are_linear_in_s():
    correct = torch.tensor([1.0, 0.0, 0.0, 0.0])
    plain = advantages(correct, 4, "rloo", torch.ones(4))
    scaled = advantages(2.0 * correct, 4, "rloo", torch.ones(4))
    assert plain.tolist() == pytest.approx([1.0, -1 / 3, -1 / 3, -1 / 3])
    assert torch.equal(scaled, 2.0 * plain)


def test_group_std_scaling_cancels_s():
    correct = torch.tensor([1.0, 0.0, 1.0, 0.0])
    a = advantages(correct, 4, "grpo_group", torch.ones(4))
    b = advantages(1.7 * correct, 4, "grpo_group", torch.ones(4))
    assert torch.allclose(a, b, rtol=1e-3)


def test_tilt_is_the_s_ratio_for_rlev_and_one_for_the_controls(model):
    batch = _batch(VALUES)
    rows = {(r["estimator"], r["mode"]): r for r in tilt_rows(model, batch, estimators=("rloo", "grpo_group"))}
    # top20 prompts all have s = 2 and bottom20 all s = 1: RLOO's advantages there are exactly 2x and 1x
    assert rows[("rloo", "rlev")]["s_ratio_top_bottom"] == 2.0
    assert rows[("rloo", "rlev")]["tilt_vs_correctness"] == pytest.approx(2.0, rel=1e-5)
    assert rows[("rloo", "correctness")]["tilt_vs_correctness"] == 1.0
    assert rows[("rloo", "uniform")]["tilt_vs_correctness"] == pytest.approx(1.0, rel=1e-5)
    # GRPO with group std: s cancels exactly (up to the 1e-4 in the denominator)
    assert rows[("grpo_group", "rlev")]["tilt_vs_correctness"] == pytest.approx(1.0, abs=1e-3)
    shuffled = rows[("rloo", "shuffled")]
    assert shuffled["n_permutations"] == 8 and 0.5 < shuffled["tilt_vs_correctness"] < 1.5


def test_bucket_norms_scale_with_the_advantages(model):
    batch = _batch(VALUES)
    a = advantages(torch.tensor(batch.correct, dtype=torch.float32), 4, "rloo", torch.ones(40))
    once, thrice = bucket_gradient_norms(model, batch, a), bucket_gradient_norms(model, batch, 3 * a)
    assert set(once) == {"bottom20", "middle60", "top20"}
    for name in once:
        assert once[name] > 0 and thrice[name] == pytest.approx(3 * once[name], rel=1e-5)


def test_mode_scales_follow_the_reward_modes():
    values = [0.0, 0.05, 0.3]
    assert mode_scales(values, "rlev") == [1.0, 1.5, 2.0]
    assert mode_scales(values, "uniform") == [pytest.approx(1.5)] * 3
    assert sorted(mode_scales(values, "shuffled", seed=0)) == [1.0, 1.5, 2.0]
