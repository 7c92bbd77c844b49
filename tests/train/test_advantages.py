"""The value scale reaches the policy gradient exactly as each method implies (notes/trl.md §3)."""

from __future__ import annotations

import json

import pytest
import torch

from rlev_cli.errors import RlevError
from rlev_cli.rewards import prepare_values, value_scale
from rlev_cli.train.config import TrainConfig
from rlev_cli.train.trainers import group_baseline, reinforce_pp_advantages, reverse_cumsum

S_HIGH, S_LOW = value_scale(0.05), value_scale(0.02)  # 1.5, 1.2


def test_reinforce_pp_matches_openrlhf_formula_with_kl():
    rewards = torch.tensor([1.5, 0.0, 1.2, 1.2])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.float32)
    kl = torch.tensor([[0.1, -0.2, 0.3, 9.0], [0.5, 0.5, 0.0, 0.0], [0.0, 0.1, 0.1, 0.1], [20.0, 0, 0, 0]])
    got = reinforce_pp_advantages(rewards, mask, kl=kl, beta=0.01)
    # by hand: G_t = r - 0.01 * sum_{u>=t} clamp(kl_u) on valid tokens, then global token whitening
    expected = torch.zeros_like(mask)
    for i in range(4):
        valid = int(mask[i].sum())
        for t in range(valid):
            expected[i, t] = rewards[i] - 0.01 * kl[i, t:valid].clamp(-10, 10).sum()
    values = expected[mask.bool()]
    mean, var = values.mean(), values.var(unbiased=False)
    expected = (expected - mean) / var.sqrt() * mask
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.equal(reverse_cumsum(torch.tensor([[1.0, 2.0, 3.0]])), torch.tensor([[6.0, 5.0, 3.0]]))


def test_reinforce_pp_group_baseline():
    rewards = torch.tensor([1.5, 0.0, 1.2, 0.0])
    mask = torch.ones(4, 2)
    got = reinforce_pp_advantages(group_baseline(rewards, 2), mask)
    centered = torch.tensor([0.75, -0.75, 0.6, -0.6])
    assert torch.allclose(got[:, 0], centered / centered.pow(2).mean().sqrt(), atol=1e-6)


def test_shuffled_is_a_permutation_and_uniform_is_mean_scale():
    values = [0.0, 0.01, 0.02, 0.05, 0.2, 0.3]
    shuffled, mean_scale = prepare_values(values, "shuffled", 10.0, seed=1)
    assert sorted(shuffled) == values and shuffled != values
    assert mean_scale == pytest.approx(sum(value_scale(v) for v in values) / 6)
    assert prepare_values(values, "rlev", 10.0, seed=1)[0] == values


def test_group_scaling_needs_an_explicit_flag():
    with pytest.raises(RlevError, match="divides s\\(x\\) back out"):
        TrainConfig(algo="grpo", scale_rewards="group")
    TrainConfig(algo="grpo", scale_rewards="group", allow_group_scaling=True)
    TrainConfig(algo="grpo", scale_rewards="group", reward="correctness")


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"num_generations": 1}, "needs at least 2 samples"),
        ({"batch_size": 6}, "not a multiple of --num-generations 4"),
        ({"algo": "ppo"}, "choose reinforce\\+\\+, rloo or grpo"),
        ({"algo": "reinforce++", "kl_form": "trl"}, "--kl-form trl goes with rloo or grpo"),
        ({"kl_form": "k3"}, "--kl-form 'k3': choose trl or openrlhf"),
    ],
)
def test_impossible_settings_fail_before_any_work(bad, message):
    with pytest.raises(RlevError, match=message):
        TrainConfig(**bad)


@pytest.mark.parametrize(
    "settings,message",
    [
        # TRL samples batch x processes x steps_per_generation: 2 x 1 x 2 = 4, one group of 4 (was refused as 2)
        ({"batch_size": 2, "trl": {"steps_per_generation": "2"}}, None),
        ({"batch_size": 2, "trl": {"generation_batch_size": 8}}, None),  # an int, as a YAML `trl:` gives it
        (
            {"batch_size": 2, "trl": {"steps_per_generation": "3"}},
            "--batch-size 2 x 1 process(es) x 3 steps per generation (--trl) = 6 completions per rollout, "
            "not a multiple of --num-generations 4; use e.g. --batch-size 4",
        ),
        (
            {"trl": {"generation_batch_size": "6"}},
            "--trl generation_batch_size = 6 completions per rollout, not a multiple of --num-generations 4; "
            "use e.g. --trl generation_batch_size=8",  # TRL also divides it by --batch-size 8 x 1 process
        ),
        (
            {"batch_size": 4, "num_generations": 3, "trl": {"generation_batch_size": "8"}},
            "--trl generation_batch_size = 8 completions per rollout, not a multiple of --num-generations 3; "
            "use e.g. --trl generation_batch_size=12",  # was 6, which TRL refuses (not a multiple of 4)
        ),
        ({"trl": {"steps_per_generation": "0"}}, "--trl steps_per_generation=0: must be a positive integer"),
        (
            {"recipe": "paper", "trl": {"generation_batch_size": "16"}},
            "--trl generation_batch_size does not go with --recipe paper: the recipe sizes the rollout "
            "(--rollout-prompts x --num-generations completions, as steps_per_generation); "
            "use --rollout-prompts, or --trl steps_per_generation=N",
        ),
        ({"trl": {"generation_batch_size": -8}}, "--trl generation_batch_size=-8: must be a positive integer"),
        (
            {"batch_size": 6},
            "--batch-size 6 x 1 process(es) x 1 accumulation = 6 completions per rollout, "
            "not a multiple of --num-generations 4; use e.g. --batch-size 4",
        ),
    ],
)
def test_the_rollout_is_checked_as_trl_will_sample_it(settings, message):
    if message is None:
        TrainConfig(**settings)
        return
    with pytest.raises(RlevError) as error:
        TrainConfig(**settings)
    assert str(error.value) == message


def two_prompt_table(path):
    import pyarrow as pa

    from rlev_cli.schema import QUESTIONS, write_table

    rows = []
    for qid, value in (("high", 0.05), ("low", 0.02)):
        rows.append(
            {
                "id": qid,
                "exam_id": "e",
                "qtype": "single_choice",
                "question": f"Question {qid}?",
                "answer": qid,
                "score": value * 100,
                "total": 100.0,
                "total_source": "record",
                "value": value,
                "value_source": "score",
                "split": "train",
                "source": "t",
                "flags": [],
            }
        )
    write_table(pa.Table.from_pylist(rows, schema=QUESTIONS), path, "questions")
    return path


@pytest.fixture
def fixed_correctness(monkeypatch):
    """Every prompt's group of 4 gets the same pattern: correct, correct, wrong, wrong."""
    from rlev_cli.verify.grade import Grader

    from .killed_run import fixed_pattern

    monkeypatch.setattr(Grader, "grade", fixed_pattern())


def one_step_advantages(tmp_path, tiny_model_dir, **options):
    from rlev_cli.train.build import build_trainer

    data = two_prompt_table(tmp_path / "q.parquet")
    config = TrainConfig(
        data=data,
        model=str(tiny_model_dir),
        num_generations=4,
        batch_size=8,
        max_steps=1,
        max_completion_length=4,
        kl_coef=0.0,
        learning_rate=1e-6,
        save_steps=100,
        output=tmp_path / "run",
        **options,
    )
    trainer, _ = build_trainer(config, data, str(tiny_model_dir), tmp_path / "run")
    trainer.train()
    rows = trainer.rollout_log.written
    advantage = {}
    for row, adv in zip(rows, trainer.last_advantages.tolist(), strict=True):
        first = adv[0] if isinstance(adv, list) else adv
        advantage.setdefault(row["id"], []).append((row["correct"], row["reward"], first))
    return advantage


def ratio_of_correct(advantage, shift=0.0):
    high = [a + shift for ok, _, a in advantage["high"] if ok]
    low = [a + shift for ok, _, a in advantage["low"] if ok]
    return high[0] / low[0]


@pytest.mark.parametrize(
    "algo,options,expected",
    [
        ("rloo", {}, S_HIGH / S_LOW),
        ("grpo", {"scale_rewards": "batch"}, S_HIGH / S_LOW),
        ("grpo", {"scale_rewards": "none"}, S_HIGH / S_LOW),
        ("grpo", {"scale_rewards": "group", "allow_group_scaling": True}, 1.0),  # the trap: s(x) cancels
        ("rloo", {"reward": "correctness"}, 1.0),
    ],
)
def test_value_ratio_reaches_the_advantages(tmp_path, tiny_model_dir, fixed_correctness, algo, options, expected):
    advantage = one_step_advantages(tmp_path, tiny_model_dir, algo=algo, **options)
    assert [ok for ok, _, _ in advantage["high"]] == [True, True, False, False]
    assert ratio_of_correct(advantage) == pytest.approx(expected, rel=1e-3)
    wrong_high = next(a for ok, _, a in advantage["high"] if not ok)
    wrong_low = next(a for ok, _, a in advantage["low"] if not ok)
    assert wrong_high / wrong_low == pytest.approx(expected, rel=1e-3)


def test_reinforce_pp_whitened_returns_keep_the_ratio(tmp_path, tiny_model_dir, fixed_correctness):
    advantage = one_step_advantages(tmp_path, tiny_model_dir, algo="reinforce++")
    rewards = torch.tensor([r for key in ("high", "low") for _, r, _ in advantage[key]])
    mean, std = rewards.mean(), rewards.std(unbiased=False)  # equal lengths: token whitening = sample whitening
    got = torch.tensor([a for key in ("high", "low") for _, _, a in advantage[key]])
    assert torch.allclose(got, (rewards - mean) / std, atol=1e-5)
    # undo the whitening: the returns of correct answers stand in the ratio s_high / s_low
    assert ratio_of_correct(advantage, shift=float(mean / std)) == pytest.approx(S_HIGH / S_LOW, rel=1e-4)
    json.dumps(advantage)


def test_reinforce_pp_leaves_ungraded_out_of_the_whitening():
    # Sample 1 is ungraded (reward None -> NaN): advantage 0 on all its tokens, and its 3 tokens do not
    # enter the whitening. Graded tokens: 1.5 x2, 0.0 x1, 1.2 x3 -> mean 6.6/6 = 1.1.
    rewards = torch.tensor([1.5, float("nan"), 0.0, 1.2])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=torch.float32)
    got = reinforce_pp_advantages(rewards, mask)
    var = (2 * 0.4**2 + 1.1**2 + 3 * 0.1**2) / 6  # biased, over the 6 graded tokens
    std = var**0.5
    expected = torch.tensor([[0.4 / std, 0.4 / std, 0.0], [0.0, 0.0, 0.0], [-1.1 / std, 0.0, 0.0], [0.1 / std] * 3])
    assert torch.allclose(got, expected, atol=1e-6)
    # with the group baseline the ungraded sample is out of its group's mean too: group 0 = {1.5} alone
    got = reinforce_pp_advantages(group_baseline(rewards, 2), mask)
    # centered: 0.0 (x2 tokens), ungraded, -0.6 (x1), +0.6 (x3) -> mean 1.2/6 = 0.2
    var = (2 * 0.2**2 + 0.8**2 + 3 * 0.4**2) / 6
    std = var**0.5
    expected = torch.tensor([[-0.2 / std, -0.2 / std, 0.0], [0.0, 0.0, 0.0], [-0.8 / std, 0.0, 0.0], [0.4 / std] * 3])
    assert torch.allclose(got, expected, atol=1e-6)
