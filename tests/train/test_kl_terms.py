"""#17 item 4: with β > 0 over several rollouts, on completions of ragged lengths, every trainer's advantages
and KL terms equal an independent recomputation written here from OpenRLHF's formulas
(`openrlhf/trainer/ppo_utils/experience_maker.py` `compute_advantages_and_returns`,
`openrlhf/models/utils.py` `compute_approx_kl` / `compute_reward`), not by calling rlev's code.

The log-probabilities are recomputed here too: the policy as it stood when the rollout was generated, and
the reference loaded afresh from the model folder. The first rollout has KL 0 (policy = reference), so each
test trains several rollouts with a large learning rate and checks the later ones, where the KL is not 0.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from rlev_cli.train.config import TrainConfig

from .test_advantages import fixed_correctness, two_prompt_table  # noqa: F401  (fixture)

BETA = 0.05
pytestmark = pytest.mark.usefixtures("fixed_correctness")  # per group: correct, correct, wrong, wrong


@pytest.fixture(scope="module")
def ragged_model_dir(tmp_path_factory):
    """The tiny model with every 3rd token id an end of sequence for generation: completions stop at random
    lengths, so token-level and sequence-level whitening (or a sum vs a mean) give different numbers."""
    from rlev_cli.tiny import build_tiny_model

    path = tmp_path_factory.mktemp("ragged") / "model"
    build_tiny_model(path, seed=0)
    generation = json.loads((path / "generation_config.json").read_text())
    eos = generation["eos_token_id"]
    generation["eos_token_id"] = [eos, *range(3, 1000, 3)]
    (path / "generation_config.json").write_text(json.dumps(generation))
    return path


def token_logps(model, batch):
    """log π(y_t | x, y_<t) of every completion token, by a plain forward pass (temperature 1)."""
    prompt, completion = batch["prompt_ids"], batch["completion_ids"]
    ids = torch.cat([prompt, completion], dim=1)
    attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=attention).logits.float()
    logits = logits[:, prompt.size(1) - 1 : -1]
    return torch.log_softmax(logits, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)


def train_capturing(tmp_path, model_dir, steps, **options):
    """Train `steps` optimizer steps; for every rollout keep what an independent recomputation needs."""
    from transformers import AutoModelForCausalLM

    from rlev_cli.train.build import build_trainer

    data = two_prompt_table(tmp_path / "q.parquet")
    settings = dict(
        data=data,
        model=str(model_dir),
        num_generations=4,
        max_steps=steps,
        max_completion_length=8,
        kl_coef=BETA,
        learning_rate=3e-3,
        save_steps=1000,
        output=tmp_path / "run",
    )
    if options.get("recipe") is None:
        settings["batch_size"] = 8
    config = TrainConfig(**{**settings, **options})
    trainer, _ = build_trainer(config, data, str(model_dir), tmp_path / "run")
    reference = AutoModelForCausalLM.from_pretrained(str(model_dir))  # loaded here, not TRL's copy
    rollouts = []
    generate = trainer._generate_and_score_completions

    def capture(inputs):
        batch = generate(inputs)
        mask = batch["completion_mask"]
        rows = trainer.rollout_log.last_batch
        rollouts.append(
            {
                "step": trainer.state.global_step + 1,
                "rewards": [row["reward"] for row in rows],
                "lengths": [int(n) for n in mask.sum(1).tolist()],
                "policy": token_logps(trainer.model, batch),  # the policy that generated this rollout
                "reference": token_logps(reference, batch),
                "advantages": batch["advantages"].detach().clone(),
                "batch": {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)},
            }
        )
        return batch

    trainer._generate_and_score_completions = capture
    start = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    moved = max((v - start[k]).abs().max().item() for k, v in trainer.model.state_dict().items())
    assert moved > 1e-3  # the policy really moved
    return trainer, rollouts


def k1(rollout, i):
    """OpenRLHF compute_approx_kl, k1: log π_old − log π_ref, clamped to ±10, on the valid tokens of sample i."""
    n = rollout["lengths"][i]
    return [min(10.0, max(-10.0, rollout["policy"][i, t].item() - rollout["reference"][i, t].item())) for t in range(n)]


def reward_to_go(scalar, kl, beta):
    """OpenRLHF compute_reward + get_cumulative_returns (γ = 1): the scalar reward on the last valid token,
    −β·KL_t on every token, summed from t to the end."""
    token_rewards = [-beta * x for x in kl]
    token_rewards[-1] += scalar
    return [sum(token_rewards[t:]) for t in range(len(token_rewards))]


def whiten(returns):
    """OpenRLHF's normalisation for reinforce / reinforce_baseline: over every valid token of the rollout,
    biased variance, rsqrt(max(var, 1e-8))."""
    tokens = [g for row in returns for g in row]
    mean = sum(tokens) / len(tokens)
    var = sum((g - mean) ** 2 for g in tokens) / len(tokens)
    scale = 1 / math.sqrt(max(var, 1e-8))
    return [[(g - mean) * scale for g in row] for row in returns]


def group_of(i, g=4):
    return range(i // g * g, i // g * g + g)


def assert_token_advantages(rollout, expected):
    got = rollout["advantages"]
    assert got.dim() == 2
    for i, row in enumerate(expected):
        n = rollout["lengths"][i]
        assert got[i, :n].tolist() == pytest.approx(row, abs=2e-5), (rollout["step"], i)
        assert got[i, n:].abs().sum().item() == 0.0  # nothing on padding


def kl_share(rollouts):
    """The largest |β Σ KL| of a completion after the first rollout: what the test would miss if it were 0."""
    return max(abs(BETA * sum(k1(r, i))) for r in rollouts[1:] for i in range(len(r["lengths"])))


@pytest.mark.parametrize("baseline", [False, True])
def test_reinforce_pp_token_advantages_are_openrlhfs(tmp_path, ragged_model_dir, baseline):
    options = {"rpp_baseline": True} if baseline else {}
    _, rollouts = train_capturing(tmp_path, ragged_model_dir, 3, algo="reinforce++", **options)
    assert len(rollouts) == 3 and kl_share(rollouts) > 1e-3
    for rollout in rollouts:
        rewards, lengths = rollout["rewards"], rollout["lengths"]
        assert len(set(lengths)) > 1, lengths  # ragged: token and sequence whitening differ
        shaped = list(rewards)
        if baseline:  # reinforce_baseline: r − mean of the prompt's group
            shaped = [r - sum(rewards[j] for j in group_of(i)) / 4 for i, r in enumerate(rewards)]
        expected = whiten([reward_to_go(shaped[i], k1(rollout, i), BETA) for i in range(len(shaped))])
        assert_token_advantages(rollout, expected)
        # the same with sequence-level whitening (one value per completion) is measurably wrong
        per_sequence = [reward_to_go(shaped[i], k1(rollout, i), BETA)[0] for i in range(len(shaped))]
        mean = sum(per_sequence) / len(per_sequence)
        std = math.sqrt(sum((x - mean) ** 2 for x in per_sequence) / len(per_sequence))
        assert max(abs((x - mean) / std - e[0]) for x, e in zip(per_sequence, expected, strict=True)) > 1e-3


def test_rloo_subtracts_the_summed_k1_before_the_leave_one_out_baseline(tmp_path, ragged_model_dir):
    """TRL's RLOO (docs/training.md): r' = r − β Σ_t k1_t (unclamped, per sequence), A = r' − mean of the
    other G−1 r'. One scalar advantage per completion."""
    _, rollouts = train_capturing(tmp_path, ragged_model_dir, 3, algo="rloo")
    assert kl_share(rollouts) > 1e-3
    for rollout in rollouts:
        n = len(rollout["rewards"])
        penalized = [
            rollout["rewards"][i]
            - BETA * sum(rollout["policy"][i, t].item() - rollout["reference"][i, t].item() for t in range(length))
            for i, length in enumerate(rollout["lengths"])
        ]
        expected = [penalized[i] - sum(penalized[j] for j in group_of(i) if j != i) / 3 for i in range(n)]
        assert rollout["advantages"].dim() == 1
        assert rollout["advantages"].tolist() == pytest.approx(expected, abs=2e-5)


def test_recipe_grpo_adds_the_k1_reward_to_go_to_its_advantages(tmp_path, ragged_model_dir):
    """--recipe paper GRPO (OpenRLHF group_norm with the batch std rlev keeps s(x) with): the scalar advantage
    (r − group mean) / (std of the batch's rewards + 1e-4), then −β Σ_{u≥t} k1_u on each token."""
    _, rollouts = train_capturing(
        tmp_path, ragged_model_dir, 8, algo="grpo", recipe="paper", rollout_prompts=2, learning_rate=1e-2
    )
    assert [r["step"] for r in rollouts] == [1, 5]  # one rollout per 4 optimizer steps
    assert kl_share(rollouts) > 1e-3
    for rollout in rollouts:
        rewards = rollout["rewards"]
        mean = sum(rewards) / len(rewards)
        std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1))  # TRL: Bessel-corrected
        scalar = [(r - sum(rewards[j] for j in group_of(i)) / 4) / (std + 1e-4) for i, r in enumerate(rewards)]
        expected = [reward_to_go(scalar[i], k1(rollout, i), BETA) for i in range(len(rewards))]
        assert_token_advantages(rollout, expected)


def dapo_loss(advantages, logp, mask):
    """GRPOTrainer loss_type="dapo" on-policy (ratio 1): −Σ A_t log π_t over all active tokens ÷ their count."""
    return -(advantages * logp * mask).sum() / mask.sum()


def rloo_loss(advantages, logp, mask):
    """RLOOTrainer on-policy: −mean over completions of A · Σ_t log π_t (one sequence-level ratio each)."""
    return -(advantages * (logp * mask).sum(1)).mean()


def test_kl_in_the_reward_is_not_counted_again_in_the_loss(tmp_path, ragged_model_dir):
    """REINFORCE++ puts the k1 KL in the reward, so TRL's loss runs with β = 0: the logged gradient norm is
    that of the token-mean policy-gradient loss −Σ A_t log π(y_t) / Σ tokens alone, recomputed here."""
    trainer, rollouts = train_capturing_gradients(tmp_path, ragged_model_dir, dapo_loss, algo="reinforce++")
    norms = {m["step"]: m["grad_norm"] for m in trainer.run_log.metrics}
    assert len(rollouts) == 3
    for rollout in rollouts:
        # measured: 3e-6 apart; with β left in TRL's loss the third step is 3e-3 apart
        assert norms[rollout["step"]] == pytest.approx(rollout["grad_norm"], rel=3e-5)


@pytest.mark.parametrize("algo,loss", [("rloo", rloo_loss), ("reinforce++", dapo_loss)])
def test_ungraded_completions_count_in_the_loss_normaliser(tmp_path, ragged_model_dir, monkeypatch, algo, loss):
    """Decided (docs/training.md): an ungraded completion (advantage 0) still counts in the loss's normaliser,
    as an all-correct or all-wrong group does, so a grading failure never enlarges a step. With 2 of 8
    ungraded, an RLOO step is 6/8 of the one over the graded 6 alone; REINFORCE++ divides by every token."""
    from rlev_cli.verify.grade import Grader, Verdict

    pattern = [Verdict(True, "rule"), Verdict(False, "rule"), Verdict(None, "none", "test"), Verdict(True, "rule")]
    monkeypatch.setattr(
        Grader, "grade", lambda self, q, responses, a, t: [pattern[i % 4] for i in range(len(responses))]
    )
    trainer, rollouts = train_capturing_gradients(tmp_path, ragged_model_dir, loss, algo=algo, kl_coef=0.0)
    norms = {m["step"]: m["grad_norm"] for m in trainer.run_log.metrics}
    for rollout in rollouts:
        assert norms[rollout["step"]] == pytest.approx(rollout["grad_norm"], rel=3e-5)
        graded_only = rollout["graded_only"]  # the same loss over the 6 graded completions alone
        assert norms[rollout["step"]] != pytest.approx(graded_only, rel=1e-2)
    if algo == "rloo":
        assert rollouts[0]["grad_norm"] == pytest.approx(rollouts[0]["graded_only"] * 6 / 8, rel=1e-5)


def train_capturing_gradients(tmp_path, model_dir, loss_of, **options):
    """Train 3 steps (one rollout each); at each generation, the gradient norm of `loss_of` recomputed on the
    policy that generated the rollout (on-policy: the step's gradient), over all completions and over the
    graded ones alone."""
    from rlev_cli.train.build import build_trainer

    data = two_prompt_table(tmp_path / "q.parquet")
    settings = dict(
        data=data, model=str(model_dir), num_generations=4, batch_size=8, max_steps=3, max_completion_length=8,
        kl_coef=BETA, learning_rate=3e-3, save_steps=1000, output=tmp_path / "run",
    )  # fmt: skip
    config = TrainConfig(**{**settings, **options})
    trainer, _ = build_trainer(config, data, str(model_dir), tmp_path / "run")
    rollouts = []
    generate = trainer._generate_and_score_completions

    def norm(loss):
        grads = torch.autograd.grad(loss, [p for p in trainer.model.parameters() if p.requires_grad], retain_graph=True)
        return torch.sqrt(sum((g.float() ** 2).sum() for g in grads)).item()

    def capture(inputs):
        batch = generate(inputs)
        model = trainer.model
        ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        logits = model(input_ids=ids, attention_mask=attention).logits.float()
        logits = logits[:, batch["prompt_ids"].size(1) - 1 : -1]
        completion = batch["completion_ids"]
        logp = torch.log_softmax(logits, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)
        mask = batch["completion_mask"].float()
        advantages = batch["advantages"].detach()
        graded = torch.tensor([row["reward"] is not None for row in trainer.rollout_log.last_batch])
        rollouts.append(
            {
                "step": trainer.state.global_step + 1,
                "grad_norm": norm(loss_of(advantages, logp, mask)),
                "graded_only": norm(loss_of(advantages[graded], logp[graded], mask[graded])),
            }
        )
        return batch

    trainer._generate_and_score_completions = capture
    trainer.train()
    return trainer, rollouts
