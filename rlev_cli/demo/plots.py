"""The demo's plot: sampled reward and accuracy per training step, by value bucket, per reward mode."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlev_cli.workspace import atomic_path

STYLES = {"bottom20": ":", "middle60": "--", "top20": "-"}


def _smooth(ys: Sequence[float], window: int = 10) -> list[float]:
    out = []
    for i in range(len(ys)):
        part = [y for y in ys[max(0, i - window + 1) : i + 1] if y == y]
        out.append(sum(part) / len(part) if part else float("nan"))
    return out


def plot_per_step(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Two panels (reward, accuracy); one colour per mode, one line style per value bucket; the mean over
    seeds, smoothed over 10 steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(r["mode"] for r in rows))
    colours = dict(zip(modes, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode in modes:
        for bucket, style in STYLES.items():
            points = [r for r in rows if r["mode"] == mode and r["bucket"] == bucket]
            steps = sorted({r["step"] for r in points})
            for ax, key in zip(axes, ("reward", "accuracy"), strict=True):
                ys = []
                for step in steps:
                    at = [r[key] for r in points if r["step"] == step and r[key] == r[key]]
                    ys.append(sum(at) / len(at) if at else float("nan"))
                ax.plot(steps, _smooth(ys), style, color=colours[mode], label=f"{mode} {bucket}")
    axes[0].set_title("reward per step (sampled, 10-step mean)")
    axes[1].set_title("accuracy per step (sampled, 10-step mean)")
    for ax in axes:
        ax.set_xlabel("training step")
    axes[1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
