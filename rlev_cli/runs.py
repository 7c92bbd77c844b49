"""What a run folder records for later stages: where the latest run is, and what it trained on, so that
`evaluate` can refuse train/test leakage (#11 item 6), and so that a resume cannot drift to another table.

`rlev train` fixes its provenance before the first step (`record_data`): `RUN/provenance.json` lists the
run's data segments, each the SHA-256 of the questions table's bytes the prompts were parsed from, the step
it starts at and how many ids it holds; `RUN/train_ids.parquet` has one row per (segment, prompt) with the
id and the SHA-256 of the question text. A resume on a table with another hash is refused
(`check_resume_data`) unless the user accepts it, which opens a new segment: the ids only grow.
`evaluate` calls `check_train_overlap` before generating anything: an in-domain item the run trained on in
any segment, matched by id or by question text (a re-ingest with another seed keeps ids but moves exams
between splits), is an error, unless the user allows it explicitly; then it is a warning and
`leakage.json` in the output folder lists the items (written with the evaluation's other outputs, as one set).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError

TRAIN_IDS_FILE = "train_ids.parquet"
PROVENANCE_FILE = "provenance.json"


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


def write_train_ids(run_dir: Path, rows: Iterable[tuple[str, str]], segment: int = 0) -> Path:
    """RUN/train_ids.parquet: (id, question_sha256, segment) of every prompt the run trains on. The rows of
    earlier segments are kept (the file only grows); this segment's rows are replaced."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rlev_cli.schema import write_table

    path = Path(run_dir) / TRAIN_IDS_FILE
    kept: list[dict[str, Any]] = []
    if segment > 0 and path.exists():
        old = pq.read_table(path)
        kept = [
            {**row, "segment": row.get("segment") or 0}
            for row in old.to_pylist()
            if (row.get("segment") or 0) < segment
        ]
    pairs = list(rows)
    table = pa.Table.from_pylist(
        kept + [{"id": i, "question_sha256": question_sha(q), "segment": segment} for i, q in pairs],
        schema=pa.schema([("id", pa.string()), ("question_sha256", pa.string()), ("segment", pa.int32())]),
    )
    write_table(table, path, "train_ids")
    return path


def data_segments(run_dir: Path) -> list[dict[str, Any]]:
    """The tables a run trained on, in order ([] when nothing is recorded). A run made before
    provenance.json existed has one segment from its manifest's data_sha256, if it finished."""
    path = Path(run_dir) / PROVENANCE_FILE
    if path.exists():
        segments: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data_segments"]
        return segments
    manifest = Path(run_dir) / "manifest.json"
    if manifest.exists():
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        if recorded.get("data_sha256"):
            return [{"data": recorded.get("data"), "sha256": recorded["data_sha256"], "from_step": 0}]
    return []


def check_resume_data(run_dir: Path, data: Path, sha256: str, allow_new: bool) -> bool:
    """Whether resuming `run_dir` on `data` (whose bytes hash to `sha256`) opens a new data segment.

    Raises:
        RlevError: when the table is not the one the run trained on last and `allow_new` is False.
    """
    segments = data_segments(run_dir)
    if not segments or segments[-1]["sha256"] == sha256:
        return False
    if not allow_new:
        raise RlevError(
            f"--resume: {data} is not the table {run_dir} trained on (SHA-256 {sha256}, the run's "
            f"{segments[-1]['sha256']} in {Path(run_dir) / PROVENANCE_FILE}); resume on the table the run "
            "started from, or pass --allow-new-data to continue on this one (recorded as a new data segment)"
        )
    return True


def record_data(
    run_dir: Path,
    data: Path,
    sha256: str,
    trained_on: Sequence[tuple[str, str]],
    from_step: int,
    resume: bool,
    allow_new: bool,
) -> list[dict[str, Any]]:
    """Fix the run's provenance before its first (or first resumed) step and return its data segments.

    A new run has one segment; a resume on the same table keeps its segments; a resume on another table
    is refused (`check_resume_data`) or, with `allow_new`, adds a segment starting at `from_step`.
    `trained_on` is (id, question) of every prompt of this segment; train_ids.parquet keeps the earlier
    segments' rows."""
    segments = data_segments(run_dir) if resume else []
    if not segments or check_resume_data(run_dir, data, sha256, allow_new):
        segments.append({"data": str(data), "sha256": sha256, "from_step": from_step if segments else 0})
    segments[-1]["n_ids"] = len(trained_on)
    segments[-1].setdefault("recorded", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_train_ids(run_dir, trained_on, segment=len(segments) - 1)
    from rlev_cli.workspace import write_json

    write_json(Path(run_dir) / PROVENANCE_FILE, {"data_segments": segments})
    return segments


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


def check_train_overlap(runs: Sequence[Path], items: Sequence[tuple[str, str]], allow: bool) -> dict[str, Any]:
    """Refuse (RlevError) when any evaluated in-domain item was in a run's training data; with `allow`, warn.
    Returns the report {run: {overlap, of, ids}}, which evaluate writes to OUT/leakage.json with its outputs."""
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
    return report


def latest_run(runs: Path) -> Path | None:
    """The newest run folder (one with a config.json) under `runs`, or None."""
    candidates = [p for p in runs.glob("*") if (p / "config.json").exists()] if runs.exists() else []
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name)) if candidates else None


# The files that hold a Hugging Face model's weights (full, sharded, or a PEFT adapter in a checkpoint).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
)


def check_weights(folder: Path, remedy: str) -> None:
    """Refuse (one RlevError line) a model or checkpoint folder without its weights, or a sharded one with
    a shard missing; `remedy` says what to do."""
    folder = Path(folder)
    present = [name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not present:
        raise RlevError(f"{folder}: no model weights ({', '.join(WEIGHT_FILES[:3])} or another); {remedy}")
    for name in present:
        if name.endswith(".index.json"):
            try:
                shards = sorted(set(json.loads((folder / name).read_text(encoding="utf-8"))["weight_map"].values()))
            except (OSError, ValueError, KeyError, AttributeError) as err:
                raise RlevError(f"{folder / name}: not a readable weights index ({err}); {remedy}") from err
            missing = [shard for shard in shards if not (folder / shard).is_file()]
            if missing:
                raise RlevError(f"{folder}: weights shard(s) {', '.join(missing)} missing; {remedy}")


def run_model(run: Path, remedy: str) -> Path:
    """RUN/model, checked to be a whole Hugging Face model (config.json and weights)."""
    model = Path(run) / "model"
    if not Path(run).is_dir():
        raise RlevError(f"{run}: no such run folder (pass a folder `rlev train` wrote, or --model for a model)")
    if not (model / "config.json").exists():
        raise RlevError(f"{run}: no model/ folder with a Hugging Face model; is it a finished `rlev train` run?")
    check_weights(model, remedy)
    return model


def refuse_links(folder: Path, remedy: str = "remove it") -> None:
    """Refuse a run (or output) folder that holds a symbolic link anywhere inside it: rlev and TRL would
    write through it, to a file outside the folder (TRL's model card overwrote one that way)."""
    import os

    folder = Path(folder)
    if not folder.is_dir():
        return
    for parent, dirs, files in os.walk(folder):  # does not follow links: a linked folder is listed in dirs
        for name in sorted(dirs + files):
            path = Path(parent) / name
            if path.is_symlink():
                raise RlevError(
                    f"{path} is a symbolic link (to {os.readlink(path)}); rlev never writes through a link inside "
                    f"{folder}: {remedy}"
                )
