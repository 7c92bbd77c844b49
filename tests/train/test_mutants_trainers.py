"""#17 item 4: tests that kill the mutants of `rlev_cli.train.trainers` the trainer-level tests let live
(docs/testing.md): REINFORCE++'s defaults and KL clamp, and the resume of a checkpoint written inside a rollout
by an older rlev (no saved rollout), or one whose saved rollout is not plain tensors."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest
import torch

from rlev_cli.output import out
from rlev_cli.train.trainers import (
    ROLLOUT_STATE,
    _ResumesInsideARollout,
    kl_penalized_advantages,
    reinforce_pp_advantages,
)

REWARDS = torch.tensor([1.5, 0.0, 1.2, 1.2])
MASK = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=torch.float32)


def test_no_kl_term_unless_both_kl_and_beta_are_given():
    plain = reinforce_pp_advantages(REWARDS, MASK)
    kl = torch.full((4, 4), 0.5)
    assert torch.equal(reinforce_pp_advantages(REWARDS, MASK, kl=kl), plain)  # β defaults to 0
    assert torch.equal(reinforce_pp_advantages(REWARDS, MASK, kl=None, beta=0.1), plain)
    assert not torch.equal(reinforce_pp_advantages(REWARDS, MASK, kl=kl, beta=0.1), plain)


def test_kl_is_clamped_to_plus_minus_10_on_both_sides():
    low = torch.tensor([[-20.0, 0.0, 0.0, 0.0], [0.0] * 4, [0.0] * 4, [0.0] * 4])
    at_edge = torch.tensor([[-10.0, 0.0, 0.0, 0.0], [0.0] * 4, [0.0] * 4, [0.0] * 4])
    got = reinforce_pp_advantages(REWARDS, MASK, kl=low, beta=0.1)
    assert torch.equal(got, reinforce_pp_advantages(REWARDS, MASK, kl=at_edge, beta=0.1))
    assert not torch.equal(
        got, reinforce_pp_advantages(REWARDS, MASK, kl=at_edge * 0.95, beta=0.1)
    )  # inside: counts


def test_recipe_grpo_clamps_the_kl_below_too():
    advantages, mask, graded = torch.tensor([1.0, -1.0]), torch.ones(2, 2), torch.tensor([True, True])
    kl = torch.tensor([[-20.0, 0.0], [0.0, 0.0]])
    got = kl_penalized_advantages(advantages, mask, kl, 0.1, graded)
    assert torch.equal(got, torch.tensor([[2.0, 1.0], [-1.0, -1.0]]))  # 1 - 0.1 * (-10), then 1 - 0


def test_a_single_valid_token_whitens_to_zero():
    got = reinforce_pp_advantages(torch.tensor([2.0, float("nan")]), torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    assert torch.equal(got, torch.zeros(2, 2))  # mean over the one graded token is the token itself


class _Loaded:
    def _load_optimizer_and_scheduler(self, checkpoint):
        self.parent_loaded = checkpoint


class _Trainer(_ResumesInsideARollout, _Loaded):
    """Just what the resume mixin reads: the process, TRL's schedule, its counter, slices and metrics."""

    def __init__(self, accumulation=1, per_generation=4, iterations=1):
        self.accelerator = SimpleNamespace(process_index=0, device=torch.device("cpu"))
        self.args = SimpleNamespace(
            gradient_accumulation_steps=accumulation, steps_per_generation=per_generation, num_iterations=iterations
        )
        self._step, self._buffered_inputs, self._metrics = 0, None, {"train": {"reward": [9.0]}}


@pytest.mark.parametrize(
    "step,schedule,inside",
    [
        (6, (1, 4, 1), True),
        (8, (1, 4, 1), False),  # a rollout boundary: nothing lost
        (2, (2, 4, 1), False),  # 2 optimizer steps x 2 micro-steps = 4 micro-steps, one rollout
        (3, (2, 4, 1), True),
        (2, (1, 4, 2), True),  # 2 iterations over a rollout: 8 micro-steps each
        (8, (1, 4, 2), False),
    ],
)
def test_an_old_checkpoint_inside_a_rollout_is_warned(tmp_path, monkeypatch, step, schedule, inside):
    warned = []
    monkeypatch.setattr(out, "warn", warned.append)
    checkpoint = tmp_path / f"checkpoint-{step}"
    checkpoint.mkdir()
    trainer = _Trainer(*schedule)
    trainer._load_optimizer_and_scheduler(str(checkpoint))
    assert trainer.parent_loaded == str(checkpoint) and trainer._step == 0
    assert warned == (
        [
            f"{checkpoint} was written inside a rollout without its saved rollout ({ROLLOUT_STATE.format(rank=0)}): "
            "the resumed run generates a new rollout now, so it will not match an uninterrupted run"
        ]
        if inside
        else []
    )


def test_a_saved_rollout_is_restored_and_only_as_plain_tensors(tmp_path):
    checkpoint = tmp_path / "checkpoint-6"
    checkpoint.mkdir()
    slices = [{"advantages": torch.tensor([0.5, -0.5])}]
    torch.save(
        {"step": 6, "buffered_inputs": slices, "metrics": {"kl": [0.1]}}, checkpoint / ROLLOUT_STATE.format(rank=0)
    )
    trainer = _Trainer()
    trainer._load_optimizer_and_scheduler(str(checkpoint))
    assert trainer._step == 6 and torch.equal(trainer._buffered_inputs[0]["advantages"], slices[0]["advantages"])
    assert trainer._metrics == {"train": {"kl": [0.1]}}  # the metrics since the last log, nothing else
    torch.save(
        {"step": 6, "buffered_inputs": SimpleNamespace(x=1), "metrics": {}}, checkpoint / ROLLOUT_STATE.format(rank=0)
    )
    with pytest.raises(pickle.UnpicklingError):  # weights_only: a crafted checkpoint cannot run code on load
        _Trainer()._load_optimizer_and_scheduler(str(checkpoint))


def test_plain_grpo_keeps_trls_kl_term_in_its_loss(tmp_path, tiny_model_dir):
    """Without --recipe the KL is TRL's k3 term in the GRPO loss: β must reach the loss (TRL then logs `kl`)."""
    from rlev_cli.train.build import build_trainer
    from rlev_cli.train.config import TrainConfig

    from .test_advantages import two_prompt_table

    data = two_prompt_table(tmp_path / "q.parquet")
    config = TrainConfig(data=data, model=str(tiny_model_dir), algo="grpo", num_generations=4, batch_size=8,
                         max_steps=1, max_completion_length=4, kl_coef=0.05, output=tmp_path / "run")  # fmt: skip
    trainer, info = build_trainer(config, data, str(tiny_model_dir), tmp_path / "run")
    assert trainer.kl_in_reward is False and info["kl_in_reward"] is False
    trainer.train()
    assert [m["kl"] >= 0 for m in trainer.run_log.metrics if "kl" in m] == [True]  # k3 >= 0, logged once
    assert trainer.last_advantages.dim() == 1  # TRL's scalar advantages: no k1 reward-to-go outside the recipe


def test_last_text_of_a_logged_prompt_or_completion():
    from rlev_cli.train.trainers import _last_text

    assert _last_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"
    assert _last_text([{"role": "assistant"}]) == ""
    assert (_last_text(None), _last_text([]), _last_text(["a", "b"]), _last_text(5)) == ("", "[]", "['a', 'b']", "5")


@pytest.mark.parametrize(
    "options,shape",
    [
        ({"recipe": "paper", "rollout_prompts": 8}, (8, 4)),
        # the user's --trl field is the last one TRL gets: 8 micro-batches of 8, not the recipe's 4
        ({"recipe": "paper", "rollout_prompts": 8, "trl": {"steps_per_generation": "8"}}, (16, 8)),
        ({"recipe": "paper", "rollout_prompts": 8, "trl": {"num_iterations": "2"}}, (8, 8)),
        ({"batch_size": 8, "trl": {"generation_batch_size": "16"}}, (4, 2)),
        ({"batch_size": 8, "gradient_accumulation_steps": 2, "trl": {"num_iterations": "2"}}, (4, 2)),
        ({"batch_size": 8, "num_processes": 2}, (4, 1)),
        ({"batch_size": 8, "num_processes": 2, "trl": {"generation_batch_size": "32"}}, (8, 2)),
    ],
)
def test_the_rollout_shape_is_the_one_trl_runs(tmp_path, options, shape):
    """check_steps' rollout is TRL's: read from the GRPOConfig/RLOOConfig the run builds (it recomputed the shape
    by hand, letting the recipe's steps_per_generation win over the user's `--trl steps_per_generation`)."""
    from rlev_cli.train.build import make_trl_config, rollout_shape
    from rlev_cli.train.config import TrainConfig

    config = TrainConfig(**options)
    assert rollout_shape(config) == shape
    trl = make_trl_config(config, tmp_path, cuda=False)  # one process here: TRL's own figures
    if config.num_processes == 1:
        per_rollout = trl.steps_per_generation * trl.num_iterations // trl.gradient_accumulation_steps
        assert shape == (trl.generation_batch_size // config.num_generations, per_rollout)


def test_a_rollout_grown_by_the_users_steps_per_generation_is_checked():
    from rlev_cli.errors import RlevError
    from rlev_cli.train.build import check_steps
    from rlev_cli.train.config import TrainConfig

    config = TrainConfig(recipe="paper", rollout_prompts=8, trl={"steps_per_generation": "8"})
    with pytest.raises(RlevError, match=r"^10 train prompt\(s\), but one rollout takes 16 .*8 optimizer step\(s\)"):
        check_steps(config, 10)
    check_steps(config, 16)
