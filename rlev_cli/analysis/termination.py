"""Value-sensitive termination (arXiv 2510.20187, Figure 2): P(EOS) at each decoding position.

For each run, its own greedy responses (an `rlev evaluate` predictions.parquet) are fed back through the
run's model (teacher forcing); at every position t of a response, P(EOS | prompt, y_<t) is read from the
softmax. Averaged over the N highest- and N lowest-valued in-domain prompts (N = 200 as in the paper), a
run that learned value-sensitive stopping puts EOS mass earlier on low-value prompts and later on
high-value ones. Position t = len(response) is where the model did stop (when it stopped by EOS).

Responses are re-tokenized from their text (predictions.parquet keeps text, not ids); for a byte-level
BPE this can split a few tokens differently from generation, which shifts positions by a token or two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError

TERMINATION_COLUMNS = ("run", "group", "position", "p_eos", "n")


@dataclass
class TerminationResult:
    """What `run_termination` wrote (termination.parquet, termination.png), its rows and, per run, how
    many responses each of its high and low groups holds (the smaller of the two)."""

    table_path: Path
    plot_path: Path
    rows: list[dict[str, Any]]
    n_per_group: dict[str, int]


def eos_curve(model: Any, tokenizer: Any, prompt_text: str, response: str, batch_eos: int | None = None) -> list[float]:
    """P(EOS) at positions 0..len(response tokens) of one response, teacher-forced."""
    import torch

    eos = tokenizer.eos_token_id if batch_eos is None else batch_eos
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] if response else []
    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 :]  # (len(response) + 1, V)
    return torch.softmax(logits.float(), dim=-1)[:, eos].tolist()


def select_extremes(rows: Sequence[dict[str, Any]], n: int) -> dict[str, list[dict[str, Any]]]:
    """The n highest- and n lowest-valued rows (ties by id: stable and recorded); disjoint when there are
    fewer than 2n rows (each group takes half)."""
    ranked = sorted((r for r in rows if r.get("value") is not None), key=lambda r: (r["value"], str(r["id"])))
    k = min(n, len(ranked) // 2)
    return {"high": ranked[len(ranked) - k :], "low": ranked[:k]}


def average_curves(curves: Sequence[Sequence[float]]) -> list[tuple[int, float, int]]:
    """(position, mean P(EOS) over the responses that reach it, how many reach it).

    >>> average_curves([[0.1, 0.9], [0.3]])
    [(0, 0.2, 2), (1, 0.9, 1)]
    """
    longest = max((len(c) for c in curves), default=0)
    out = []
    for t in range(longest):
        at = [c[t] for c in curves if len(c) > t]
        out.append((t, round(sum(at) / len(at), 12), len(at)))
    return out


def termination_rows(
    label: str, model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]], system_prompt: str | None, n: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Figure 2's table for one run: rows of (run, group, position, p_eos, n)."""
    from rlev_cli.generate import render
    from rlev_cli.prompts import policy_messages

    groups = select_extremes(rows, n)
    table = []
    for group, members in groups.items():
        curves = [
            eos_curve(model, tokenizer, render(tokenizer, policy_messages(r["prompt"], system_prompt)), r["response"])
            for r in members
        ]
        for position, p_eos, count in average_curves(curves):
            table.append({"run": label, "group": group, "position": position, "p_eos": p_eos, "n": count})
    return table, {g: len(m) for g, m in groups.items()}


def _run_inputs(run: Path, predictions: Path | None) -> tuple[str, Path, str | None, list[dict[str, Any]]]:
    """A run folder's label, model folder, system prompt and in-domain predictions."""
    import pyarrow.parquet as pq

    from rlev_cli.prompts import SYSTEM_PROMPT
    from rlev_cli.runs import run_model

    run = Path(run)
    run_model(run, "its model was not saved whole; train it again (or pass another run)")
    try:
        config = json.loads((run / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    label = f"{config['algo']}/{config['reward']}" if "algo" in config and "reward" in config else run.name
    path = Path(predictions) if predictions else run / "eval" / "predictions.parquet"
    if not path.exists():
        raise RlevError(f"{path}: no predictions; run `rlev evaluate {run}` first (or pass --predictions)")
    table = pq.read_table(path).to_pylist()
    rows = [r for r in table if r["benchmark"] == "indomain" and r["value"] is not None]
    models = {r["model"] for r in rows}
    if len(models) > 1:
        rows = [r for r in rows if r["model"] == label]
        if not rows:
            raise RlevError(f"{path}: holds models {', '.join(sorted(models))} but none labelled {label!r}")
    if not rows:
        raise RlevError(f"{path}: no in-domain predictions with a value")
    return label, run / "model", config.get("system_prompt") or SYSTEM_PROMPT, rows


def run_termination(
    runs: Sequence[Path], out_dir: Path, n: int = 200, predictions: Path | None = None
) -> TerminationResult:
    """Figure 2 for each run: termination.parquet (run, group, position, p_eos, n) and termination.png."""
    import pyarrow as pa
    from transformers import AutoModelForCausalLM

    from rlev_cli.schema import write_table
    from rlev_cli.tiny import load_tokenizer, quiet_transformers

    if not runs:
        raise RlevError("pass at least one run folder (e.g. a baseline and an RLEV run)")
    if n < 1:
        raise RlevError(f"--n {n}: must be >= 1")
    quiet_transformers()
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    labels: list[str] = []
    for run in runs:
        label, model_dir, system_prompt, predictions_rows = _run_inputs(Path(run), predictions)
        if label in labels:  # two runs of one recipe: keep them apart
            label = f"{label}#{labels.count(label) + 1}"
        labels.append(label)
        tokenizer = load_tokenizer(str(model_dir))
        model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
        table, n_groups = termination_rows(label, model, tokenizer, predictions_rows, system_prompt, n)
        rows.extend(table)
        counts[label] = min(n_groups.values())
    out_dir = Path(out_dir)
    schema = pa.schema(
        [
            ("run", pa.string()),
            ("group", pa.string()),
            ("position", pa.int64()),
            ("p_eos", pa.float64()),
            ("n", pa.int64()),
        ]
    )
    table_path = out_dir / "termination.parquet"
    write_table(pa.Table.from_pylist(rows, schema=schema), table_path, "termination", {"n_per_group": counts})
    plot_path = plot_termination(rows, out_dir / "termination.png")
    return TerminationResult(table_path, plot_path, rows, counts)


def plot_termination(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlev_cli.workspace import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, group in zip(axes, ("low", "high"), strict=True):
        for run in dict.fromkeys(r["run"] for r in rows):
            points = [r for r in rows if r["run"] == run and r["group"] == group]
            ax.plot([r["position"] for r in points], [r["p_eos"] for r in points], marker=".", label=run)
        ax.set_title(f"{group}-valued prompts")
        ax.set_xlabel("decoding position (tokens)")
    axes[0].set_ylabel("P(EOS), teacher-forced")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
