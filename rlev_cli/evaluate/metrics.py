"""The paper's metrics (arXiv 2510.20187 §3): Acc, H-Acc, mean response length, value density, and
accuracy/length per value bucket ("value-sensitive termination")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BUCKETS = (("bottom20", 0.0, 0.2), ("middle60", 0.2, 0.8), ("top20", 0.8, 1.0))  # quantiles of v


def value_density(h_acc: float, mean_length: float) -> float:
    """H-Acc (in %) / mean response length in tokens.

    >>> round(value_density(55.9, 201.8), 2), round(value_density(61.9, 68.7), 2)
    (0.28, 0.9)
    """
    return h_acc / mean_length if mean_length > 0 else math.nan


def accuracy(correct: Sequence[bool]) -> float:
    return 100.0 * float(np.mean(correct)) if len(correct) else math.nan


def h_accuracy(correct: Sequence[bool], values: Sequence[float]) -> float:
    """100 · Σ v·correct / Σ v over all prompts (normalised by total value, not by count)."""
    v = np.asarray(values, dtype=float)
    total = v.sum()
    return 100.0 * float((v * np.asarray(correct, dtype=float)).sum() / total) if total > 0 else math.nan


def summarize(correct: Sequence[bool], lengths: Sequence[float], values: Sequence[float] | None) -> dict[str, float]:
    row = {
        "n": len(correct),
        "acc": accuracy(correct),
        "mean_length": float(np.mean(lengths)) if len(lengths) else math.nan,
    }
    if values is not None:
        row["h_acc"] = h_accuracy(correct, values)
        row["value_density"] = value_density(row["h_acc"], row["mean_length"])
    return row


def bucket_rows(
    ids: Sequence[str], correct: Sequence[bool], lengths: Sequence[float], values: Sequence[float]
) -> list[dict[str, Any]]:
    """Rows ranked by value (ties broken by id: a stable, recorded order), cut at the 20 % / 80 % ranks.

    Each row records the value range it covers (`bucket_low`, `bucket_high`)."""
    order = sorted(range(len(values)), key=lambda i: (values[i], ids[i]))
    rows = []
    for name, low, high in BUCKETS:
        members = order[round(low * len(order)) : round(high * len(order))]
        if not members:
            continue
        summary = summarize([correct[i] for i in members], [lengths[i] for i in members], [values[i] for i in members])
        rows.append(
            {
                "bucket": name,
                "bucket_low": float(values[members[0]]),
                "bucket_high": float(values[members[-1]]),
                **summary,
            }
        )
    return rows


def average_rows(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The paper's "Average" rows: arithmetic means of Acc, H-Acc and length, and the MEAN OF THE
    DENSITIES (not mean H-Acc / mean length, which is reported as `density_of_means`).

    >>> r = average_rows([{"acc": 67.7, "h_acc": 57.6, "mean_length": 226.2, "value_density": 0.25},
    ...                   {"acc": 70.9, "h_acc": 60.9, "mean_length": 345.5, "value_density": 0.18},
    ...                   {"acc": 70.6, "h_acc": 59.9, "mean_length": 169.0, "value_density": 0.35}])
    >>> round(r["value_density"], 2), round(r["density_of_means"], 2)
    (0.26, 0.24)
    """
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("acc", "h_acc", "mean_length", "value_density")}
    mean["density_of_means"] = value_density(mean["h_acc"], mean["mean_length"])
    return mean
