"""#17 item 4: tests that kill the mutants of `rlev_cli.train.trainers` the trainer-level tests let live
(docs/testing.md): REINFORCE++'s defaults and KL clamp, and the resume of a checkpoint written inside a rollout
by an older rlev (no saved rollout), or one whose saved rollout is not plain tensors."""

from __future__ import annotations

import math
import pickle
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rlev_cli.output import out
from rlev_cli.train.trainers import (
    ROLLOUT_STATE,
    ReinforcePPTrainer,
    _KlInReward,
    _RecordsRollouts,
    _ResumesInsideARollout,
    group_baseline,
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
    assert not torch.equal(got, reinforce_pp_advantages(REWARDS, MASK, kl=at_edge * 0.95, beta=0.1))  # inside: counts


def test_recipe_grpo_clamps_the_kl_below_too():
    advantages, mask, graded = torch.tensor([1.0, -1.0]), torch.ones(2, 2), torch.tensor([True, True])
    kl = torch.tensor([[-20.0, 0.0], [0.0, 0.0]])
    got = kl_penalized_advantages(advantages, mask, kl, 0.1, graded)
    assert torch.equal(got, torch.tensor([[2.0, 1.0], [-1.0, -1.0]]))  # 1 - 0.1 * (-10), then 1 - 0


def test_a_single_valid_token_whitens_to_zero():
    got = reinforce_pp_advantages(torch.tensor([2.0, float("nan")]), torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    assert torch.equal(got, torch.zeros(2, 2))  # mean over the one graded token is the token itself


class _Loaded:
    """transformers' Trainer under the mixin: its checkpoint folder (a hyper-parameter search trial has its
    own), its save (which records what it was given and what the folder held) and its load."""

    def _load_optimizer_and_scheduler(self, checkpoint):
        self.parent_loaded = checkpoint

    def _get_output_dir(self, trial):
        return str(self.output_dir / f"run-{trial}") if trial is not None else str(self.output_dir)

    def _save_checkpoint(self, model, trial):
        folder = Path(self._get_output_dir(trial)) / f"checkpoint-{self.state.global_step}"
        self.parent_saved = (model, trial, sorted(p.name for p in folder.iterdir()))


class _Trainer(_ResumesInsideARollout, _Loaded):
    """Just what the resume mixin reads: the process, TRL's schedule, its counter, slices and metrics."""

    def __init__(self, accumulation=1, per_generation=4, iterations=1, rank=0, device="cpu", output_dir=None):
        self.accelerator = SimpleNamespace(process_index=rank, device=torch.device(device))
        self.args = SimpleNamespace(
            gradient_accumulation_steps=accumulation, steps_per_generation=per_generation, num_iterations=iterations
        )
        self._step, self._buffered_inputs, self._metrics = 0, None, {"train": {"reward": [9.0]}}
        self.output_dir, self.state = output_dir, SimpleNamespace(global_step=6)


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


@pytest.mark.parametrize("trial", [None, "t1"])
def test_each_process_saves_its_rollout_into_the_trainers_checkpoint_before_the_trainer(tmp_path, trial):
    """The rollout file lands in the checkpoint folder the Trainer then fills (a search trial's own folder
    too), before the Trainer's files; on a rank whose checkpoints folder does not exist yet (a node without
    process 0's folder), and over a folder another process made first. It holds TRL's metrics gathered since
    the last log (--logging-steps > 1), as a copy."""
    pending = {"reward": [1.5, 0.0], "kl": [0.01]}
    trainer = _Trainer(rank=1, output_dir=tmp_path / "run" / "checkpoints")
    trainer._step, trainer._buffered_inputs = 2, [{"advantages": torch.tensor([0.5, -0.5])}]
    trainer._metrics = {"train": pending, "eval": {}}
    trainer._save_checkpoint("model", trial)
    assert trainer.parent_saved == ("model", trial, [ROLLOUT_STATE.format(rank=1)])
    folder = Path(trainer._get_output_dir(trial)) / "checkpoint-6"
    state = torch.load(folder / ROLLOUT_STATE.format(rank=1), weights_only=True)
    assert state["step"] == 2 and torch.equal(state["buffered_inputs"][0]["advantages"], torch.tensor([0.5, -0.5]))
    assert state["metrics"] == pending
    pending["reward"].append(1.2)  # TRL keeps appending after the save: the checkpoint keeps what it had
    assert torch.load(folder / ROLLOUT_STATE.format(rank=1), weights_only=True)["metrics"]["reward"] == [1.5, 0.0]
    other = _Trainer(rank=0, output_dir=tmp_path / "run" / "checkpoints")
    other._save_checkpoint("model", trial)  # the same checkpoint's folder, already there
    assert other.parent_saved[2] == [ROLLOUT_STATE.format(rank=0), ROLLOUT_STATE.format(rank=1)]


def test_a_saved_rollout_is_restored_onto_the_processs_device(tmp_path):
    """Written from the GPU it trained on, read back onto the device of the process that resumes (meta here,
    so that a tensor left on the CPU shows)."""
    checkpoint = tmp_path / "checkpoint-6"
    checkpoint.mkdir()
    saved = {"step": 6, "buffered_inputs": [{"advantages": torch.tensor([0.5, -0.5])}], "metrics": {}}
    torch.save(saved, checkpoint / ROLLOUT_STATE.format(rank=0))
    trainer = _Trainer(device="meta")
    trainer._load_optimizer_and_scheduler(str(checkpoint))
    assert trainer._buffered_inputs[0]["advantages"].device == torch.device("meta")


def test_a_crafted_rollout_is_refused_even_where_torch_is_told_to_unpickle_anything(tmp_path, monkeypatch):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (set for an old checkpoint elsewhere) turns torch.load's default into
    full unpickling; the explicit weights_only=True stays: a checkpoint from elsewhere cannot run code."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    checkpoint = tmp_path / "checkpoint-6"
    checkpoint.mkdir()
    crafted = {"step": 6, "buffered_inputs": SimpleNamespace(x=1), "metrics": {}}
    torch.save(crafted, checkpoint / ROLLOUT_STATE.format(rank=0))
    with pytest.raises(pickle.UnpicklingError):
        _Trainer()._load_optimizer_and_scheduler(str(checkpoint))


def _chat(messages, tokenize, add_generation_prompt):
    """The tokenizer's chat template (the rollout log's rendered_prompt is the text the model was given)."""
    assert not tokenize and add_generation_prompt
    return "".join(f"<|{m['role']}|>{m['content']}" for m in messages) + "<|assistant|>"


class _Recorder(_RecordsRollouts):
    """A trainer's last generation batch as TRL leaves it: its logs (gathered), one process, the model training."""

    def __init__(self):
        self.accelerator = SimpleNamespace(gather=lambda t: t, is_main_process=True)
        self.state, self.reward_func_names = SimpleNamespace(global_step=3), ["rlev"]
        self.model = SimpleNamespace(training=True)
        self.processing_class = SimpleNamespace(chat_template="(a chat template)", apply_chat_template=_chat)
        system = {"role": "system", "content": "Answer briefly."}
        first, second = (
            [system, {"role": "user", "content": "Find x."}],
            [system, {"role": "user", "content": "Find y."}],
        )
        self._logs = {  # the deques hold an older batch too
            "prompt": ["old prompt", first, first, second],
            "completion": ["old"] + [[{"role": "assistant", "content": f"x = {i}"}] for i in range(3)],
            "rewards": {"rlev": [0.0, 1.5, 0.0, float("nan")]},
            "extra": {
                "id": ["q0", "q1", "q2", "q3"],
                "value": [0.1, 0.05, 0.05, 0.05],
                "correct": [False, True, False, None],
                "verdict": ["rule"] * 4,
                "ungraded_reason": [None, None, None, "no answer"],
                "ungraded_cause": [None, None, None, "no_answer"],
            },
        }
        self.batches = []
        self.rollout_log = SimpleNamespace(add_batch=lambda step, rows: self.batches.append((step, rows)))


def test_a_per_token_advantage_is_logged_as_its_mean_over_the_completions_tokens():
    """rollouts.parquet's advantage of a per-token run (REINFORCE++, recipe GRPO) is the mean over the valid
    tokens: padding does not count, a one-token completion is its token, and a completion with no valid
    token (`--trl mask_truncated_completions=true` on a truncated one) is 0, not NaN."""
    trainer = _Recorder()
    advantages = torch.tensor([[0.5, 1.5, 9.0], [-2.0, 9.0, 9.0], [9.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    output = {"advantages": advantages, "completion_mask": mask}
    assert trainer._record(output) is output and torch.equal(trainer.last_advantages, advantages)
    [(step, rows)] = trainer.batches
    assert step == 4  # the optimizer step this batch trains
    assert [(r["advantage"], r["length"]) for r in rows] == [(1.0, 2), (-2.0, 1), (0.0, 0)]
    shown = [f"<|system|>Answer briefly.<|user|>Find {x}.<|assistant|>" for x in "xxy"]
    assert rows[0] == {
        "id": "q1", "prompt": "Find x.", "rendered_prompt": shown[0], "completion": "x = 0",
        "value": 0.05, "correct": True, "verdict": "rule", "ungraded_reason": None, "ungraded_cause": None,
        "reward": 1.5, "advantage": 1.0, "length": 2,
    }  # fmt: skip
    assert (rows[2]["reward"], rows[2]["correct"], rows[2]["ungraded_reason"]) == (None, None, "no answer")
    assert [r["rendered_prompt"] for r in rows] == shown  # each row its own prompt's text
    trainer.model.training = False  # an --eval-steps batch: not a rollout the run trains on
    trainer._record(output)
    assert len(trainer.batches) == 1


class _KlTrainer(_KlInReward):
    def __init__(self):
        self.kl_in_reward, self.beta = True, 0.1
        self.reward_weights = torch.tensor([0.5])

    def _old_logps(self, output):
        self.recomputed = True
        return torch.tensor([[-1.0, -1.0]])


def test_the_kl_uses_trls_old_log_probabilities_when_trl_computed_them():
    """With a rollout trained over several steps (the recipe: 4 per rollout) TRL computes the log-probabilities
    of the generation pass itself; the k1 KL takes them, without a second forward pass."""
    trainer = _KlTrainer()
    output = {"old_per_token_logps": torch.tensor([[-0.5, -2.0]]), "ref_per_token_logps": torch.tensor([[-1.0, -1.5]])}
    assert torch.equal(trainer._kl(output), torch.tensor([[0.5, -0.5]]))
    assert not hasattr(trainer, "recomputed")
    del output["old_per_token_logps"]  # one step per rollout: TRL leaves them out, rlev computes them
    assert torch.equal(trainer._kl(output), torch.tensor([[0.0, 0.5]])) and trainer.recomputed


def test_trls_reward_weights_scale_the_reward_as_trl_scales_it():
    """`--trl reward_weights=[0.5]` scales RlevReward's reward in the k1/REINFORCE++ path as TRL's GRPO does;
    an ungraded completion (None from the reward) stays NaN."""
    trainer = _KlTrainer()
    trainer._gathered_rewards = torch.tensor([[1.5], [float("nan")], [0.0]])
    assert trainer._local_rewards().tolist()[::2] == [0.75, 0.0] and math.isnan(trainer._local_rewards()[1])
    trainer._gathered_rewards = torch.zeros(3, 1, device="meta")  # gathered on the GPU, TRL's weights on the CPU
    assert trainer._local_rewards().device == torch.device("meta")


@pytest.mark.parametrize("baseline", [False, True])
def test_reinforce_pp_whitens_over_the_rollout_of_every_process(monkeypatch, baseline):
    """Two processes (threads here, with an all-gather between them), 3 completions each, groups of 2 (the
    second straddles them): each process whitens its half with the mean and variance of the whole rollout, so
    the halves put together are the one-process advantages of the batch."""
    from trl import GRPOTrainer

    rewards = torch.tensor([1.5, 0.0, float("nan"), 1.2, 0.0, 1.2])  # TRL's gathered rewards, one function
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 0], [1, 0, 0]])
    old, ref = torch.linspace(-2.0, -0.3, 18).view(6, 3), torch.linspace(-1.0, -1.5, 18).view(6, 3)
    barrier, slots, halves = threading.Barrier(2), [None, None], [None, None]
    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", lambda self, inputs: self.batch)

    def process(rank):
        def all_gather(t):
            slots[rank] = t
            barrier.wait()
            gathered = torch.stack([slots[0], slots[1]])
            barrier.wait()
            return gathered

        trainer = ReinforcePPTrainer.__new__(ReinforcePPTrainer)
        trainer.accelerator = SimpleNamespace(gather=all_gather, process_index=rank)
        trainer.rpp_baseline, trainer.kl_in_reward, trainer.beta, trainer.num_generations = baseline, True, 0.1, 2
        trainer.reward_weights, trainer._gathered_rewards = torch.tensor([1.0]), rewards[:, None]
        mine = slice(3 * rank, 3 * rank + 3)
        trainer.batch = {
            "completion_mask": mask[mine],
            "old_per_token_logps": old[mine],
            "ref_per_token_logps": ref[mine],
        }
        halves[rank] = trainer._generate_and_score_completions([])["advantages"]

    threads = [threading.Thread(target=process, args=(rank,)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    shaped = group_baseline(rewards, 2) if baseline else rewards
    whole = reinforce_pp_advantages(shaped, mask, kl=old - ref, beta=0.1)
    assert torch.allclose(torch.cat(halves), whole, atol=1e-6)
    alone = reinforce_pp_advantages(shaped[:3], mask[:3], kl=(old - ref)[:3], beta=0.1)  # whitened on its own
    assert not torch.allclose(halves[0], alone, atol=1e-3)


def test_group_baseline_leaves_an_ungraded_sample_out_of_its_groups_mean():
    got = group_baseline(torch.tensor([1.5, 0.0, 1.2, float("nan"), float("nan"), float("nan")]), 2)
    assert got.tolist()[:3] == [0.75, -0.75, 0.0] and all(math.isnan(x) for x in got.tolist()[3:])
