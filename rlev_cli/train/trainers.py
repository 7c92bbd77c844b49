"""The three RLEV trainers on TRL: GRPO and RLOO as TRL ships them, REINFORCE++ as a small subclass.

Every trainer records the advantages it used (for tests and for rollouts.parquet).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from trl import GRPOTrainer, RLOOTrainer

from rlev_cli.generate import render

# What a mixin's `self` is: type checking sees the TRL trainer it is mixed into (both share Trainer's
# accelerator and state, and GRPO's rollout logs); at run time the mixins are plain classes.
if TYPE_CHECKING:
    from transformers import Trainer

    from rlev_cli.train.logs import RunLogCallback

    _TrainerBase = Trainer
    _GRPOBase = GRPOTrainer
else:
    _TrainerBase = _GRPOBase = object

Output = dict[str, torch.Tensor | Any]  # what TRL's _generate_and_score_completions returns


def reverse_cumsum(x: torch.Tensor) -> torch.Tensor:
    """Σ_{u ≥ t} x_u along the tokens of a (B, T) tensor."""
    return x.flip(1).cumsum(1).flip(1)


def group_baseline(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """r − the mean of its group's graded rewards (consecutive blocks of G; OpenRLHF's reinforce_baseline);
    an ungraded sample (NaN) stays NaN and is out of the mean.

    >>> group_baseline(torch.tensor([1.5, 0.0, float("nan"), 1.2]), 2).tolist()
    [0.75, -0.75, nan, 0.0]
    """
    grouped = rewards.view(-1, num_generations)
    return (grouped - torch.nanmean(grouped, dim=1, keepdim=True)).view(-1)


def reinforce_pp_advantages(
    rewards: torch.Tensor,
    mask: torch.Tensor,
    kl: torch.Tensor | None = None,
    beta: float = 0.0,
    sum_all: Callable[[torch.Tensor], torch.Tensor] = torch.sum,
) -> torch.Tensor:
    """REINFORCE++ token advantages, as OpenRLHF computes them (experience_maker.py), from the scalar rewards
    (after `group_baseline` for reinforce_baseline):

    1. token returns G_t = r - β Σ_{u≥t} KL_u (γ = 1; KL = k1, clamped to ±10) on valid tokens;
    2. global token-level whitening over the whole rollout batch: (G - μ) / sqrt(max(σ², 1e-8)),
       μ, σ² over valid tokens (biased variance). `sum_all(tensor)` is the sum of its elements over every
       process (in one process: torch.sum).

    A sample whose reward is NaN (ungraded) is out of the whitening, with advantage 0.

    Args:
        rewards: (N,) scalar rewards of this process's samples (NaN = ungraded).
        mask: (N, T) completion mask.
        kl: (N, T) log π_old − log π_ref, or None.
    Returns:
        (N, T) advantages, zero on padding.
    """
    # An ungraded completion (reward NaN, i.e. None from the reward) carries no signal: it is left out of
    # the whitening statistics, and its advantage is 0 (as TRL does for GRPO/RLOO).
    graded = ~torch.isnan(rewards)
    mask = torch.where(graded[:, None], mask, 0.0)  # float
    returns = rewards.nan_to_num()[:, None] * mask  # (N, T); NaN x 0 would be NaN
    if kl is not None and beta:
        returns = returns - beta * reverse_cumsum(kl.clamp(-10.0, 10.0) * mask) * mask
    count = sum_all(mask).clamp(min=1.0)
    mean = sum_all(returns * mask) / count
    var = sum_all(((returns - mean) * mask) ** 2) / count
    advantages: torch.Tensor = (returns - mean) * torch.rsqrt(var.clamp(min=1e-8)) * mask
    return advantages


ROLLOUT_STATE = "rlev_rollout_state_{rank}.pt"  # in each checkpoint folder, one per process


class _ResumesInsideARollout(_TrainerBase):
    """Exact resume from a checkpoint written inside a rollout (#17 item 1).

    TRL generates one rollout per `steps_per_generation` x `num_iterations` micro-steps and trains on its
    slices, keeping the slices (`_buffered_inputs`) and its micro-step counter (`_step`) in memory only:
    resumed from a checkpoint in the middle of a rollout (`--recipe paper`, --save-steps not a multiple of 4),
    it would generate a new rollout at once and shift every later one. Each checkpoint therefore also holds
    them (one file per process, written before the Trainer's trainer_state.json, which marks a checkpoint
    complete), with TRL's metrics gathered since the last log; a resume puts them back."""

    if TYPE_CHECKING:
        _step: int  # set by GRPOTrainer / RLOOTrainer
        _buffered_inputs: Any  # the rollout's slices: list[dict[str, Tensor]] | None
        _metrics: Any  # {"train": {name: [float]}, "eval": ...}

    def _rollout_state_path(self, folder: str | Path) -> Path:
        return Path(folder) / ROLLOUT_STATE.format(rank=self.accelerator.process_index)

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "step": self._step,
            "buffered_inputs": self._buffered_inputs,
            "metrics": {name: list(values) for name, values in self._metrics["train"].items()},
        }
        torch.save(state, self._rollout_state_path(folder))
        super()._save_checkpoint(model, trial)

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = self._rollout_state_path(checkpoint)
        if not path.exists():  # a checkpoint of an rlev before #17: exact only at a rollout boundary
            step = int(Path(checkpoint).name.removeprefix("checkpoint-"))  # what --resume picks: checkpoint-N
            args: Any = self.args  # a GRPOConfig or RLOOConfig
            if (step * args.gradient_accumulation_steps) % (args.steps_per_generation * args.num_iterations):
                from rlev_cli.output import out

                out.warn(
                    f"{checkpoint} was written inside a rollout without its saved rollout ({path.name}): "
                    "the resumed run generates a new rollout now, so it will not match an uninterrupted run"
                )
            return
        state = torch.load(path, map_location=self.accelerator.device, weights_only=True)
        self._step = state["step"]
        self._buffered_inputs = state["buffered_inputs"]
        self._metrics["train"].clear()
        self._metrics["train"].update(state["metrics"])


class _RecordsRollouts(_TrainerBase):
    """Keeps the advantages of the last generation batch and hands the whole batch to the rollout log.

    TRL has gathered the batch's prompts, completions, rewards and the reward's `log_extra` columns from
    every process into `self._logs` (deques sized to one generation batch) by the time the parent's
    `_generate_and_score_completions` returns; this adds the advantages actually used and the lengths."""

    rollout_log: Any = None
    last_advantages: torch.Tensor | None = None
    if TYPE_CHECKING:
        _logs: dict[str, Any]  # set by GRPOTrainer / RLOOTrainer
        reward_func_names: list[str]
        run_log: RunLogCallback  # set by build_trainer
        model: torch.nn.Module  # the Trainer's, set when it is built (None only before)

    def _record(self, output: Output) -> Output:
        advantages = output["advantages"]
        mask = output["completion_mask"]
        per_sample = advantages
        if advantages.dim() == 2:  # per-token: summarize by the mean over valid tokens (none: 0)
            per_sample = (advantages * mask).sum(1) / mask.sum(1).clamp(min=1)
        self.last_advantages = advantages.detach().cpu()
        if self.rollout_log is not None and self.model.training:  # not --eval-steps batches
            gathered = self.accelerator.gather(per_sample.detach().float()).cpu().tolist()
            lengths = self.accelerator.gather(mask.sum(1)).cpu().tolist()
            if self.accelerator.is_main_process:
                self.rollout_log.add_batch(self.state.global_step + 1, self._rollout_rows(gathered, lengths))
        return output

    def _rollout_rows(self, advantages: list[float], lengths: list[int]) -> list[dict[str, Any]]:
        n = len(advantages)  # TRL's logs end with this batch, gathered from every process as the advantages

        def last(column: Any) -> list[Any]:
            return list(column)[-n:]

        rewards = last(self._logs["rewards"][self.reward_func_names[0]])
        columns = {name: last(self._logs["extra"][name]) for name in _EXTRA_COLUMNS}  # RlevReward logs each
        rows = []
        prompts, completions = last(self._logs["prompt"]), last(self._logs["completion"])
        rendered: dict[str, str] = {}  # a group's G completions share one prompt

        def shown(prompt: Any) -> Any:
            if not isinstance(prompt, list):
                return prompt
            key = repr(prompt)  # the messages (dicts of strings), exactly
            if key not in rendered:
                rendered[key] = render(self.processing_class, prompt)
            return rendered[key]

        for i in range(n):
            reward = rewards[i]
            rows.append(
                {
                    "id": columns["id"][i],
                    "prompt": _last_text(prompts[i]),
                    "rendered_prompt": shown(prompts[i]),
                    "completion": _last_text(completions[i]),
                    "value": columns["value"][i],
                    "correct": columns["correct"][i],
                    "verdict": columns["verdict"][i],
                    "ungraded_reason": columns["ungraded_reason"][i],
                    "ungraded_cause": columns["ungraded_cause"][i],
                    "reward": None if reward is None or reward != reward else float(reward),  # NaN = ungraded
                    "advantage": float(advantages[i]),
                    "length": int(lengths[i]),
                }
            )
        return rows


# RlevReward's log_extra columns
_EXTRA_COLUMNS = ("id", "value", "correct", "verdict", "ungraded_reason", "ungraded_cause")


def _last_text(item: Any) -> str:
    """The last message's text of a chat prompt or completion (TRL logs strings or message lists)."""
    if isinstance(item, list) and item and isinstance(item[-1], dict):
        return str(item[-1].get("content", ""))
    return "" if item is None else str(item)


def kl_penalized_advantages(
    advantages: torch.Tensor, mask: torch.Tensor, kl: torch.Tensor, beta: float, graded: torch.Tensor
) -> torch.Tensor:
    """Group-normalized advantages with the k1 KL in the reward, as OpenRLHF's `group_norm` does it:
    A_t = A - β Σ_{u≥t} clamp(KL_u, ±10) on valid tokens; an ungraded sample stays 0 everywhere.

    Args:
        advantages: (N,) scalar advantages (TRL's GRPO, ungraded already 0).
        mask: (N, T) completion mask; kl: (N, T) log π_old − log π_ref; graded: (N,) bool.
    Returns:
        (N, T) per-token advantages.
    """
    m = torch.where(graded[:, None], mask, 0.0)
    return (advantages[:, None] - beta * reverse_cumsum(kl.clamp(-10.0, 10.0) * m)) * m


class _KlInReward(_GRPOBase):
    """k1 KL inside the reward (OpenRLHF): per-token KL from the generation pass, and the loss run with
    β = 0 so it is not counted twice. Also keeps the gathered rewards (NaN = ungraded) of the last batch."""

    kl_in_reward: bool = False
    _gathered_rewards: torch.Tensor | None = None

    def _calculate_rewards(self, *args: Any) -> torch.Tensor:
        rewards_per_func: torch.Tensor = super()._calculate_rewards(*args)
        self._gathered_rewards = rewards_per_func
        return rewards_per_func

    def _local_rewards(self) -> torch.Tensor:
        """The gathered batch's weighted rewards, NaN where every reward function returned None."""
        rewards = self._gathered_rewards
        assert rewards is not None  # _calculate_rewards ran in this generation step
        weights = self.reward_weights.to(rewards.device)
        total: torch.Tensor = (rewards * weights[None]).nansum(dim=1)
        total[torch.isnan(rewards).all(dim=1)] = torch.nan
        return total

    def _slice_local(self, total: torch.Tensor, output: Output) -> torch.Tensor:
        local = output["completion_mask"].shape[0]
        start = self.accelerator.process_index * local
        return total[start : start + local]

    def _kl(self, output: Output) -> torch.Tensor | None:
        if not (self.kl_in_reward and self.beta and "ref_per_token_logps" in output):
            return None
        old = output.get("old_per_token_logps")
        if old is None:
            with torch.no_grad():
                old = self._old_logps(output)
        kl: torch.Tensor = old - output["ref_per_token_logps"]
        return kl

    def _with_kl(self, output: Output, advantages: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
        """`advantages` with the per-token k1 reward-to-go added on graded completions (`total`: the gathered
        rewards, NaN = ungraded); unchanged when the KL is not in the reward (β = 0, or not this mode)."""
        kl = self._kl(output)
        if kl is None:
            return advantages
        graded = ~torch.isnan(self._slice_local(total, output))
        return kl_penalized_advantages(advantages, output["completion_mask"], kl, self.beta, graded)

    def _group_size(self) -> int:
        assert self.num_generations is not None  # GRPOConfig always sets it
        return self.num_generations

    def _old_logps(self, output: Output) -> torch.Tensor:
        input_ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        attention = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        logps: torch.Tensor
        logps, _, _ = self._get_per_token_logps_and_entropies(
            self.model, input_ids, attention, output["completion_ids"].size(1)
        )
        return logps

    def _compute_loss(self, model: Any, inputs: Output) -> torch.Tensor:
        # TRL's _compute_loss is unannotated (a typed caller may not call it without this ignore)
        loss: torch.Tensor
        if not (self.kl_in_reward and self.beta):
            loss = super()._compute_loss(model, inputs)  # type: ignore[no-untyped-call]
            return loss
        beta, self.beta = self.beta, 0.0
        try:
            loss = super()._compute_loss(model, inputs)  # type: ignore[no-untyped-call]
            return loss
        finally:
            self.beta = beta


class RlevGRPOTrainer(_ResumesInsideARollout, _RecordsRollouts, _KlInReward, GRPOTrainer):
    """TRL's GRPO; with `kl_in_reward` (--recipe paper) the KL is a k1 penalty in the reward, as OpenRLHF's
    group_norm has it, instead of TRL's k3 term in the loss."""

    def __init__(self, *, kl_in_reward: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.kl_in_reward = kl_in_reward

    def _generate_and_score_completions(self, inputs: list[dict[str, torch.Tensor | Any]]) -> Output:
        output = super()._generate_and_score_completions(inputs)
        output["advantages"] = self._with_kl(output, output["advantages"], self._local_rewards())
        return self._record(output)


class RlevRLOOTrainer(_ResumesInsideARollout, _RecordsRollouts, RLOOTrainer):
    def _generate_and_score_completions(self, inputs: list[dict[str, torch.Tensor | Any]]) -> Output:
        return self._record(super()._generate_and_score_completions(inputs))


class ReinforcePPTrainer(_ResumesInsideARollout, _RecordsRollouts, _KlInReward, GRPOTrainer):
    """REINFORCE++ on GRPOTrainer: the gathered rewards are re-used to build token advantages with the
    OpenRLHF estimator (global whitening over the whole generation batch, i.e. the rollout; optional group
    baseline; k1 KL in the reward); the KL is then left out of the loss so it is not counted twice
    (notes/trl.md §9)."""

    def __init__(self, *, rpp_baseline: bool, kl_in_reward: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.rpp_baseline = rpp_baseline
        self.kl_in_reward = kl_in_reward

    def _generate_and_score_completions(self, inputs: list[dict[str, torch.Tensor | Any]]) -> Output:
        output = super()._generate_and_score_completions(inputs)
        total = self._local_rewards()
        if self.rpp_baseline:  # group mean on the gathered batch, where whole groups live
            total = group_baseline(total, self._group_size())
        output["advantages"] = reinforce_pp_advantages(
            self._slice_local(total, output),
            output["completion_mask"],
            kl=self._kl(output),
            beta=self.beta,
            sum_all=self._sum_all,
        )
        return self._record(output)

    def _sum_all(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of `x`'s elements over every process (the whitening's statistics span the whole rollout)."""
        total: torch.Tensor = self.accelerator.gather(x.sum()).sum()
        return total


def leave_one_out(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """r − mean of the other graded rewards of the group (consecutive blocks of G); an ungraded sample (NaN),
    or one with no graded sibling, gets 0, as TRL's RLOO does.

    >>> leave_one_out(torch.tensor([1.5, 0.0, float("nan"), 1.5]), 4).tolist()
    [0.75, -1.5, 0.0, 0.75]
    """
    grouped = rewards.view(-1, num_generations)
    count = (~torch.isnan(grouped)).sum(dim=1, keepdim=True)
    others = (torch.nansum(grouped, dim=1, keepdim=True) - grouped) / (count - 1)
    return (grouped - others).nan_to_num().view(-1)  # NaN: ungraded, or 0 / 0 without a graded sibling


class OpenRLHFRLOOTrainer(_ResumesInsideARollout, _RecordsRollouts, _KlInReward, GRPOTrainer):
    """RLOO as OpenRLHF computes it (`--algo rloo --kl-form openrlhf`): the leave-one-out baseline on r, then
    the per-token k1 reward-to-go −β Σ_{u≥t} k1_u (experience_maker.py), a PPO clip per token and a token-mean
    loss (TRL's loss_type="dapo" = OpenRLHF's token_level_loss); the KL is left out of TRL's loss. TRL's own
    RLOOTrainer subtracts the summed k1 from r before the baseline and clips one ratio per completion
    (docs/training.md)."""

    kl_in_reward = True

    def _generate_and_score_completions(self, inputs: list[dict[str, torch.Tensor | Any]]) -> Output:
        output = super()._generate_and_score_completions(inputs)
        total = self._local_rewards()  # gathered: whole groups
        advantages = self._slice_local(leave_one_out(total, self._group_size()), output)
        output["advantages"] = self._with_kl(output, advantages, total)  # β = 0: one scalar per completion
        return self._record(output)


RlevTrainer = RlevGRPOTrainer | RlevRLOOTrainer | ReinforcePPTrainer | OpenRLHFRLOOTrainer
