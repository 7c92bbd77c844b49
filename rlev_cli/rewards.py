"""RLEV rewards: r = s(x) · 1[correct], s(x) = 1 + min(α·v, 1) (arXiv 2510.20187, Eqs. 3-4).

Modes (the paper's ablations): `rlev` (human-aligned), `correctness` (s = 1), `uniform` (s = the mean
s over the training set for every prompt), `shuffled` (values permuted across prompts before computing
s; the permutation is applied to the dataset, see `prepare_values`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

REWARD_MODES = ("rlev", "correctness", "uniform", "shuffled")


def value_scale(value: float, alpha: float = 10.0) -> float:
    """s(x) = 1 + min(alpha * v, 1), in [1, 2].

    >>> value_scale(0.05), value_scale(0.5), value_scale(0.0)
    (1.5, 2.0, 1.0)
    """
    return 1.0 + min(alpha * value, 1.0)


def prepare_values(values: Sequence[float], mode: str, alpha: float, seed: int) -> tuple[list[float], float]:
    """Values as the reward will see them, and the uniform scale s̄ (mean s over the training set).

    >>> prepare_values([0.0, 0.05, 0.2], "shuffled", 10.0, seed=0)[0] != [0.0, 0.05, 0.2]
    True
    """
    values = [float(v) for v in values]
    mean_scale = sum(value_scale(v, alpha) for v in values) / max(len(values), 1)
    if mode == "shuffled":
        shuffled = list(values)
        random.Random(seed).shuffle(shuffled)
        return shuffled, mean_scale
    return values, mean_scale


class RlevReward:
    """TRL reward function: s(x)·1[correct]; TRL passes the dataset columns as keyword lists.

    `None` (cannot grade, e.g. a free-form answer without a judge) is passed through: TRL leaves such a
    completion out of the baseline and gives it advantage 0.
    """

    __name__ = "rlev_reward"  # the metric name in TRL logs; a class pickles, a closure does not

    def __init__(
        self,
        mode: str = "rlev",
        alpha: float = 10.0,
        uniform_scale: float = 1.0,
        judge: Any = None,
        rollout_log: Any = None,
    ) -> None:
        if mode not in REWARD_MODES:
            raise ValueError(f"unknown reward mode {mode!r}")
        self.mode = mode
        self.alpha = alpha
        self.uniform_scale = uniform_scale
        self.judge = judge
        self.rollout_log = rollout_log

    def scale(self, value: float) -> float:
        if self.mode == "correctness":
            return 1.0
        if self.mode == "uniform":
            return self.uniform_scale
        return value_scale(value, self.alpha)

    def __call__(
        self, prompts: list, completions: list, answer: list[str], qtype: list[str], value: list[float], **kwargs: Any
    ) -> list[float | None]:
        from rlev_cli.verify import check

        texts = [_text(c) for c in completions]
        graded = []
        for i, (text, reference, kind) in enumerate(zip(texts, answer, qtype, strict=True)):
            ok = check(text, reference, kind)
            if ok is None and self.judge is not None:
                ok = self.judge(_text(prompts[i]), text, reference)
            graded.append(ok)
        rewards = [None if ok is None else ok * self.scale(v) for ok, v in zip(graded, value, strict=True)]
        if self.rollout_log is not None:
            ids = kwargs.get("completion_ids") or [[]] * len(texts)
            self.rollout_log.add(
                kwargs.get("trainer_state"),
                prompts,
                texts,
                kwargs.get("id"),
                value,
                graded,
                rewards,
                [len(x) for x in ids],
            )
        log_extra = kwargs.get("log_extra")
        if callable(log_extra):
            log_extra("correct", [None if ok is None else bool(ok) for ok in graded])
            log_extra("value", list(value))
        return rewards


def _text(item: Any) -> str:
    """A completion or prompt as text (TRL gives strings or chat messages)."""
    if isinstance(item, str):
        return item
    if isinstance(item, list) and item and isinstance(item[-1], dict):
        return str(item[-1].get("content", ""))
    return str(item)
