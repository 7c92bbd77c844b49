"""PNG plots beside the Parquet: length and accuracy per value bucket; H-Acc against Acc."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is imported only when plots are written
    from matplotlib.figure import Figure


PLOTS = ("value_buckets.png", "hacc_vs_acc.png")


def render_plots(summary_rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """value_buckets.png and hacc_vs_acc.png, as PNG bytes by file name, from the in-domain summary rows (none
    when there is no in-domain row); the caller writes them with the tables they plot, as one set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary_rows if r["benchmark"] == "indomain"]
    if not rows:
        return {}
    models = list(dict.fromkeys(r["model"] for r in rows))
    buckets = ["bottom20", "middle60", "top20"]
    pngs = {}
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
    pngs["value_buckets.png"] = _png(fig)
    fig, ax = plt.subplots(figsize=(5, 4))
    for row in (r for r in rows if r["bucket"] == "all"):
        ax.scatter(row["acc"], row["h_acc"])
        ax.annotate(row["model"], (row["acc"], row["h_acc"]), fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Acc (%)")
    ax.set_ylabel("H-Acc (%)")
    ax.set_title("value-weighted vs plain accuracy")
    pngs["hacc_vs_acc.png"] = _png(fig)
    return pngs


def _png(fig: Figure) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()
