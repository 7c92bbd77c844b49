"""PNG plots beside the Parquet: length and accuracy per value bucket; H-Acc against Acc."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlev_cli.workspace import atomic_path

if TYPE_CHECKING:  # matplotlib is imported only when plots are written
    from matplotlib.figure import Figure


def write_plots(summary_rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write value_buckets.png and hacc_vs_acc.png under `out_dir` from the in-domain summary rows;
    returns the paths written (none when there is no in-domain row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary_rows if r["benchmark"] == "indomain"]
    if not rows:
        return []
    models = list(dict.fromkeys(r["model"] for r in rows))
    buckets = ["bottom20", "middle60", "top20"]
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        by_bucket = {r["bucket"]: r for r in rows if r["model"] == model}
        xs = [i + k * width for i in range(len(buckets))]
        axes[0].bar(xs, [by_bucket.get(b, {}).get("mean_length") or 0 for b in buckets], width, label=model)
        axes[1].bar(xs, [by_bucket.get(b, {}).get("acc") or 0 for b in buckets], width, label=model)
    for ax, title in zip(axes, ("mean response length (tokens)", "accuracy (%)"), strict=True):
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(buckets))], buckets)
        ax.set_title(f"{title} by value bucket")
    axes[1].set_ylim(0, 100)
    axes[0].legend(fontsize=7)
    paths.append(_save(fig, out_dir / "value_buckets.png"))
    fig, ax = plt.subplots(figsize=(5, 4))
    for row in (r for r in rows if r["bucket"] == "all"):
        ax.scatter(row["acc"], row["h_acc"])
        ax.annotate(row["model"], (row["acc"], row["h_acc"]), fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Acc (%)")
    ax.set_ylabel("H-Acc (%)")
    ax.set_title("value-weighted vs plain accuracy")
    paths.append(_save(fig, out_dir / "hacc_vs_acc.png"))
    return paths


def _save(fig: Figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
