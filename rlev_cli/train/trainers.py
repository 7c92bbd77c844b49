"""The three RLEV trainers on TRL: GRPO and RLOO as TRL ships them, REINFORCE++ as a small subclass.

Every trainer records the advantages it used (for tests and for rollouts.parquet).
"""

from __future__ import annotations

from typing import Any

import torch
from trl import GRPOTrainer, RLOOTrainer


def reverse_cumsum(x: torch.Tensor) -> torch.Tensor:
    """Σ_{u ≥ t} x_u along the last dim.  # (B, T) -> (B, T)"""
    return x.flip(-1).cumsum(-1).flip(-1)


def reinforce_pp_advantages(
    rewards: torch.Tensor,
    mask: torch.Tensor,
    num_generations: int,
    baseline: bool = False,
    kl: torch.Tensor | None = None,
    beta: float = 0.0,
    sums: Any = None,
) -> torch.Tensor:
    """REINFORCE++ token advantages, as OpenRLHF computes them (experience_maker.py).

    1. r (scalar per sample), minus the group mean if `baseline` (reinforce_baseline);
    2. token returns G_t = r - β Σ_{u≥t} KL_u (γ = 1; KL = k1, clamped to ±10) on valid tokens;
    3. global token-level whitening over the whole rollout batch: (G - μ) / sqrt(max(σ², 1e-8)),
       μ, σ² over valid tokens (biased variance). `sums(tensor)` all-reduces across processes.

    Args:
        rewards: (N,) scalar rewards of this process's samples, consecutive groups of G when baselined.
        mask: (N, T) completion mask.
        kl: (N, T) log π_old − log π_ref, or None.
    Returns:
        (N, T) advantages, zero on padding.
    """
    mask = mask.to(rewards.dtype)
    r = torch.nan_to_num(rewards, nan=0.0)
    if baseline:
        grouped = rewards.view(-1, num_generations)
        r = torch.nan_to_num(grouped - torch.nanmean(grouped, dim=1, keepdim=True), nan=0.0).view(-1)
    returns = r[:, None] * mask  # (N, T)
    if kl is not None and beta:
        returns = returns - beta * reverse_cumsum(kl.clamp(-10.0, 10.0) * mask) * mask
    reduce = sums or (lambda t: t)
    count = reduce((mask.sum()).reshape(1)).squeeze(0)
    mean = reduce((returns * mask).sum().reshape(1)).squeeze(0) / count.clamp(min=1.0)
    var = reduce((((returns - mean) * mask) ** 2).sum().reshape(1)).squeeze(0) / count.clamp(min=1.0)
    return (returns - mean) * torch.rsqrt(var.clamp(min=1e-8)) * mask


class _RecordsAdvantages:
    """Keeps the advantages of the last generation batch and hands them to the rollout log."""

    rollout_log: Any = None
    last_advantages: torch.Tensor | None = None

    def _record(self, output: dict) -> dict:
        advantages = output["advantages"]
        if advantages.dim() == 2:  # per-token: summarize by the mean over valid tokens
            mask = output["completion_mask"].to(advantages.dtype)
            per_sample = (advantages * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:
            per_sample = advantages
        self.last_advantages = advantages.detach().cpu()
        if self.rollout_log is not None:
            self.rollout_log.set_advantages(per_sample.detach().float().cpu().tolist())
        return output


class RlevGRPOTrainer(_RecordsAdvantages, GRPOTrainer):
    def _generate_and_score_completions(self, inputs):
        return self._record(super()._generate_and_score_completions(inputs))


class RlevRLOOTrainer(_RecordsAdvantages, RLOOTrainer):
    def _generate_and_score_completions(self, inputs):
        return self._record(super()._generate_and_score_completions(inputs))


class ReinforcePPTrainer(_RecordsAdvantages, GRPOTrainer):
    """REINFORCE++ on GRPOTrainer: the gathered rewards are re-used to build token advantages with the
    OpenRLHF estimator (global whitening, optional group baseline, k1 KL in the reward); the KL is then
    left out of the loss so it is not counted twice (notes/trl.md §9)."""

    def __init__(self, *args: Any, rpp_baseline: bool = False, kl_in_reward: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rpp_baseline = rpp_baseline
        self.kl_in_reward = kl_in_reward
        self._gathered_rewards: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._gathered_rewards = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        weights = self.reward_weights.to(self._gathered_rewards.device)
        rewards = self._gathered_rewards.clone()
        all_nan = torch.isnan(rewards).all(dim=1)
        total = (rewards * weights[None]).nansum(dim=1)
        total[all_nan] = torch.nan
        if self.rpp_baseline:  # group mean on the gathered batch, where whole groups live
            grouped = total.view(-1, self.num_generations)
            total = (grouped - torch.nanmean(grouped, dim=1, keepdim=True)).view(-1)
        local = output["completion_mask"].shape[0]
        start = self.accelerator.process_index * local
        rewards_local = total[start : start + local]
        mask = output["completion_mask"]
        kl = None
        if self.kl_in_reward and self.beta and "ref_per_token_logps" in output:
            old = output.get("old_per_token_logps")
            if old is None:
                with torch.no_grad():
                    old = self._old_logps(output)
            kl = old - output["ref_per_token_logps"]
        sums = None
        if self.accelerator.num_processes > 1:
            sums = lambda t: self.accelerator.reduce(t, reduction="sum")  # noqa: E731
        output["advantages"] = reinforce_pp_advantages(
            rewards_local, mask, self.num_generations, baseline=False, kl=kl, beta=self.beta, sums=sums
        )
        return self._record(output)

    def _old_logps(self, output: dict) -> torch.Tensor:
        input_ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        attention = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        logps, _, _ = self._get_per_token_logps_and_entropies(
            self.model, input_ids, attention, output["completion_ids"].size(1)
        )
        return logps

    def _compute_loss(self, model, inputs):
        if not (self.kl_in_reward and self.beta):
            return super()._compute_loss(model, inputs)
        beta, self.beta = self.beta, 0.0
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self.beta = beta
