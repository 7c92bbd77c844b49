"""RLEV rewards: r = s(x) · 1[correct], s(x) = 1 + min(α·v, 1) (arXiv 2510.20187, Eqs. 3-4).

Modes (the paper's ablations): `rlev` (human-aligned), `correctness` (s = 1), `uniform` (s = the mean
s over the training set for every prompt), `shuffled` (values permuted across prompts before computing
s; the permutation is applied to the dataset, see `prepare_values`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from rlev_cli.errors import RlevError

REWARD_MODES = ("rlev", "correctness", "uniform", "shuffled")


def value_scale(value: float, alpha: float = 10.0) -> float:
    """s(x) = 1 + min(alpha * v, 1), in [1, 2].

    >>> value_scale(0.05), value_scale(0.5), value_scale(0.0)
    (1.5, 2.0, 1.0)
    """
    return 1.0 + min(alpha * value, 1.0)


def prepare_values(values: Sequence[float], mode: str, alpha: float, seed: int) -> tuple[list[float], float]:
    """Values as the reward will see them, and the uniform scale s̄ (mean s over the training set).

    Every value must be a share in [0, 1] (`rlev_cli.valuecheck` checks the table at the door): one NaN would
    make s̄ NaN and the whole `--reward uniform` run learn nothing.

    >>> prepare_values([0.0, 0.05, 0.2], "shuffled", 10.0, seed=0)[0] != [0.0, 0.05, 0.2]
    True
    >>> prepare_values([0.0, 0.05, 0.2], "uniform", 10.0, seed=0)[1]
    1.5
    """
    values = [float(v) for v in values]
    bad = [v for v in values if not 0.0 <= v <= 1.0]  # False for NaN too
    if bad:
        raise RlevError(f"{len(bad)} value(s) outside [0, 1] (first: {bad[0]}); the reward needs shares in [0, 1]")
    mean_scale = sum(value_scale(v, alpha) for v in values) / max(len(values), 1)
    if mode == "shuffled":
        shuffled = list(values)
        random.Random(seed).shuffle(shuffled)
        return shuffled, mean_scale
    return values, mean_scale


class RlevReward:
    """TRL reward function: s(x)·1[correct], the whole step's completions graded in one `Grader.grade` call.

    TRL passes the dataset columns as keyword lists (one entry per completion). An answer ungraded because
    of its response (too long, a refused form, a time-out: `Verdict.cause == "response"`) is wrong: reward 0,
    in the baseline like any wrong answer. An answer ungraded because of its reference or the grader returns
    `None`: every algorithm leaves it out of the baseline (and REINFORCE++ out of its whitening) and gives it
    advantage 0. The verdicts go to TRL's completions table through `log_extra` (columns `id`, `value`,
    `correct`, `verdict`, `ungraded_reason`, `ungraded_cause`); the run's rollout log is written by a trainer
    callback (`rlev_cli.train.logs`), not here.

    >>> from rlev_cli.verify.grade import Grader
    >>> reward = RlevReward("rlev", alpha=10.0, grader=Grader("rule"))
    >>> reward(prompts=["q"] * 3, completions=["Therefore, the answer is B", "Therefore, the answer is C", "B"],
    ...        question=["q"] * 3, answer=["B", "B", "解: 证毕"], qtype=["single_choice"] * 2 + ["free_form"],
    ...        value=[0.05] * 3)
    [1.5, 0.0, None]
    """

    __name__ = "rlev_reward"  # the metric name in TRL logs; a class pickles, a closure does not

    def __init__(self, mode: str = "rlev", alpha: float = 10.0, uniform_scale: float = 1.0, grader: Any = None) -> None:
        if mode not in REWARD_MODES:
            raise ValueError(f"unknown reward mode {mode!r}")
        if not 1.0 <= uniform_scale <= 2.0:  # False for NaN too
            raise RlevError(f"uniform scale {uniform_scale}: s̄ is a mean of s(x) in [1, 2]")
        if grader is None:
            from rlev_cli.verify.grade import Grader

            grader = Grader("rule")
        self.mode = mode
        self.alpha = alpha
        self.uniform_scale = uniform_scale
        self.grader = grader

    def scale(self, value: float) -> float:
        if self.mode == "correctness":
            return 1.0
        if self.mode == "uniform":
            return self.uniform_scale
        return value_scale(value, self.alpha)

    def __call__(
        self,
        prompts: list[Any],  # strings or message lists, as TRL passes them
        completions: list[Any],
        answer: list[str],
        qtype: list[str],
        value: list[float],
        question: list[str] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        texts = [_text(c) for c in completions]
        questions = question if question is not None else [_text(p) for p in prompts]
        verdicts = self.grader.grade(questions, texts, answer, qtype)
        rewards = [
            None if v.correct is None else float(v.correct) * self.scale(x)
            for v, x in zip(verdicts, value, strict=True)
        ]
        log_extra = kwargs.get("log_extra")
        if callable(log_extra):
            log_extra("id", list(kwargs.get("id") or [None] * len(texts)))
            log_extra("value", [float(x) for x in value])
            log_extra("correct", [v.correct for v in verdicts])
            log_extra("verdict", [v.source for v in verdicts])
            log_extra("ungraded_reason", [v.reason if v.correct is None or v.cause else None for v in verdicts])
            log_extra("ungraded_cause", [v.cause or None for v in verdicts])
        return rewards


def _text(item: Any) -> str:
    """A completion or prompt as text (TRL gives strings or chat messages)."""
    if isinstance(item, str):
        return item
    if isinstance(item, list) and item and isinstance(item[-1], dict):
        return str(item[-1].get("content", ""))
    return str(item)
