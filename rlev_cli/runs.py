"""What a run folder records for later stages: where the latest run is, and what it trained on, so that
`evaluate` can refuse train/test leakage (#11 item 6).

`rlev train` records what it trained on: `RUN/train_ids.parquet` (id and SHA-256 of the question text of
every prompt used) and the SHA-256 of the questions table in the manifest. `evaluate` calls
`check_train_overlap` before generating anything: an in-domain item the run trained on, matched by id or by
question text (a re-ingest with another seed keeps ids but moves exams between splits), is an error, unless
the user allows it explicitly; then it is a warning and `leakage.json` in the output folder lists the items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError

TRAIN_IDS_FILE = "train_ids.parquet"


def question_sha(question: str) -> str:
    """SHA-256 of a question's text, whitespace-normalized (the key that survives a re-ingest).

    >>> question_sha("1 + 1 =  ?") == question_sha(" 1 + 1 = ?")
    True
    """
    return hashlib.sha256(" ".join(question.split()).encode("utf-8")).hexdigest()


def file_sha(path: Path) -> str:
    """SHA-256 of a file's bytes (the questions table a run trained on)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_train_ids(run_dir: Path, rows: Iterable[tuple[str, str]]) -> Path:
    """RUN/train_ids.parquet: (id, question_sha256) of every prompt the run trains on."""
    import pyarrow as pa

    from rlev_cli.schema import write_table

    pairs = list(rows)
    table = pa.table(
        {"id": [i for i, _ in pairs], "question_sha256": [question_sha(q) for _, q in pairs]},
        schema=pa.schema([("id", pa.string()), ("question_sha256", pa.string())]),
    )
    path = Path(run_dir) / TRAIN_IDS_FILE
    write_table(table, path, "train_ids")
    return path


def read_train_ids(run_dir: Path) -> tuple[set[str], set[str]] | None:
    """The ids and question hashes a run trained on, or None for a run that did not record them."""
    import pyarrow.parquet as pq

    path = Path(run_dir) / TRAIN_IDS_FILE
    if not path.exists():
        return None
    table = pq.read_table(path)
    return set(table["id"].to_pylist()), set(table["question_sha256"].to_pylist())


def train_overlap(run_dir: Path, items: Sequence[tuple[str, str]]) -> list[str] | None:
    """Ids of the (id, question) items the run trained on, in item order; None when the run has no record."""
    trained = read_train_ids(run_dir)
    if trained is None:
        return None
    ids, shas = trained
    return [item_id for item_id, question in items if item_id in ids or question_sha(question) in shas]


def check_train_overlap(
    runs: Sequence[Path], items: Sequence[tuple[str, str]], allow: bool, out_dir: Path | None = None
) -> dict[str, Any]:
    """Refuse (RlevError) when any evaluated in-domain item was in a run's training data; with `allow`,
    warn and write the report to OUT/leakage.json. Returns the report {run: {overlap, of, ids}}."""
    from rlev_cli.output import out

    report: dict[str, Any] = {}
    for run in runs:
        found = train_overlap(run, items)
        if found is None:
            out.warn(f"{run}: no {TRAIN_IDS_FILE} (trained before rlev recorded it); train/test overlap not checked")
            continue
        report[str(run)] = {"overlap": len(found), "of": len(items), "ids": found}
        if not found:
            continue
        example = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        message = f"{run}: {len(found)} of {len(items)} evaluated item(s) were in this run's training data ({example})"
        if not allow:
            raise RlevError(
                f"{message}; evaluate on the table the run was trained from (its test split), "
                "or pass --allow-train-overlap to evaluate anyway and report them"
            )
        out.warn(f"{message}; evaluated anyway (--allow-train-overlap), listed in leakage.json")
    if allow and out_dir is not None and any(r["overlap"] for r in report.values()):
        from rlev_cli.workspace import write_json

        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(out_dir) / "leakage.json", report)
    return report


def latest_run(runs: Path) -> Path | None:
    """The newest run folder (one with a config.json) under `runs`, or None."""
    candidates = [p for p in runs.glob("*") if (p / "config.json").exists()] if runs.exists() else []
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name)) if candidates else None
