"""`run_ingest`: exam files in, questions.parquet + rejects.parquet + manifest.json out.

Orchestration and the manifest. Flow: find files (detect) -> read each with its format's reader
(readers, hub) -> points from a scheme where missing and totals (totals) -> duplicates and ids (ids) ->
split (splits) -> the three outputs written as a set. Every input record ends in exactly one of the two
tables.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli import __version__
from rlev_cli.errors import RlevError
from rlev_cli.ingest import detect, hub, splits
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.ingest.detect import display
from rlev_cli.ingest.ids import build_questions
from rlev_cli.ingest.readers import need_score, read_file
from rlev_cli.ingest.records import CANDIDATES, ReadResult
from rlev_cli.ingest.totals import apply_scheme, exam_report, load_scheme, load_totals, resolve_totals
from rlev_cli.schema import REJECTS, parquet_writer
from rlev_cli.settings import as_dict
from rlev_cli.workspace import (
    MANIFEST_FILE,
    QUESTIONS_FILE,
    REJECTS_FILE,
    workspace_lock,
    write_json_file,
    write_set,
)


@dataclass
class IngestResult:
    """What `run_ingest` wrote (questions.parquet, rejects.parquet, manifest.json) and the counts the
    manifest reports: records in = questions + rejects."""

    questions_path: Path
    rejects_path: Path
    manifest_path: Path
    n_records: int
    n_questions: int
    n_rejects: int
    n_exams: int
    n_train: int
    n_test: int
    formats: dict[str, int]
    reject_reasons: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # path, format chosen, records
    n_validation: int = 0  # a validation split as released


def run_ingest(
    paths: Sequence[Path | str], config: IngestConfig, progress: Callable[[int], Any] | None = None
) -> IngestResult:
    """Read exam files, folders and `hf://` datasets into the questions table (ids, totals, values, the
    split) plus rejects and a manifest, written together under `config.out`, which stays locked meanwhile
    (`workspace.workspace_lock`: a second writer fails at once, naming this one).

    `progress` is called with 1 per input read. Raises `RlevError` for unusable input, for no question at
    all, and under `config.strict` for any reject."""
    assert config.out is not None  # IngestConfig.__post_init__ resolves it from the workspace
    with workspace_lock(Path(config.out), "rlev ingest", files=(QUESTIONS_FILE, REJECTS_FILE, MANIFEST_FILE)):
        return _ingest(paths, config, progress)


def _note_guess(entry: dict[str, Any], encoding: str | None, warnings: list[str]) -> None:
    """A text encoding guessed for an input (not UTF-8): said in a warning and recorded in its manifest entry."""
    if encoding:
        entry.update(encoding=encoding, encoding_guessed=True)
        warnings.append(
            f"{entry['path']}: not UTF-8; read as {detect.GUESSED[encoding]} by guess (recorded in "
            "the manifest); if its text looks wrong, save the file as UTF-8"
        )


def _ingest(
    paths: Sequence[Path | str], config: IngestConfig, progress: Callable[[int], Any] | None = None
) -> IngestResult:
    specs = [str(p) for p in paths if hub.is_hub(p)]
    local = [Path(p) for p in paths if not hub.is_hub(p)]
    warnings: list[str] = []
    files = detect.find_inputs(local, warnings) if local else []
    totals = load_totals(config.totals) if config.totals else {}
    scheme = load_scheme(config.scheme) if config.scheme else {}
    results, inputs = [], []
    released = {"split column": 0, "file names": 0, "hub splits": 0}
    # Files are read on a few threads: parsing, checks and hashing are Arrow / hashlib work that releases
    # the GIL (a release of four JSON files parses them side by side). Results keep the file order.
    with ThreadPoolExecutor(max(1, min(len(files), os.cpu_count() or 1, 4))) as pool:
        for (path, name), (result, digest) in zip(
            files, pool.map(lambda item: read_file(item[0], config, walked=item[0] not in local), files), strict=True
        ):
            released["split column"] += len(result.candidates["split"]) - result.candidates["split"].null_count
            result.candidates = _with_name_hints(result.candidates, name, released)
            results.append(result)
            paper: dict[str, Any] = {
                "path": display(path),
                "sha256": digest,
                "bytes": path.stat().st_size if path.is_file() else None,  # None: a broken link, a FIFO
                "format": result.format,
                "records": result.n_records,
            }
            inputs.append(paper)
            _note_guess(paper, result.encoding, warnings)
            if result.answers:  # the answer key beside a text paper is read too: a changed key changes the set
                key_path, key_sha256, key_encoding = result.answers
                key: dict[str, Any] = {
                    "path": display(key_path),
                    "sha256": key_sha256,
                    "bytes": key_path.stat().st_size,
                }
                _note_guess(key, key_encoding, warnings)
                paper["answers"] = key
            if progress:
                progress(1)
    for spec in specs:
        for result, entry, _split_name in hub.read_hub(spec, config.field_map, need_score(config)):
            given = len(result.candidates["split"]) - result.candidates["split"].null_count
            released["hub splits"] += given
            results.append(result)
            inputs.append(entry)
            if progress:
                progress(1)
    _check_unusable(results, inputs, config)
    candidates = pa.concat_tables([r.candidates.select(CANDIDATES.names).cast(CANDIDATES) for r in results])
    given_ids = _given_ids(results)
    rejects = [rej for r in results for rej in r.rejects]
    n_records = sum(r.n_records for r in results)

    candidates, given_ids = apply_scheme(candidates, given_ids, scheme, config, rejects)
    candidates, given_ids, exams = resolve_totals(candidates, given_ids, totals, config, rejects, warnings)
    questions, shared = build_questions(candidates, given_ids, rejects, config)
    questions, split_info = splits.split_questions(questions, shared.links, config, warnings)
    split_info["released_from"] = {k: v for k, v in released.items() if v}
    exam_rows, n_exams = exam_report(questions, exams)
    _check_counts(n_records, questions.num_rows, len(rejects))

    reasons = Counter(_reason_kind(r["reason"]) for r in rejects)
    if config.strict and rejects:
        first = rejects[0]
        raise RlevError(
            f"{len(rejects)} record(s) rejected under --strict, first: {first['source']}: "
            f"{first['reason']} (run without --strict to get rejects.parquet)"
        )
    assert config.out is not None  # IngestConfig.__post_init__ resolves it from the workspace
    out = Path(config.out)
    if questions.num_rows == 0:
        top = reasons.most_common(1)
        raise RlevError(
            f"no questions: all {n_records} record(s) were rejected"
            + (f" (most often: {top[0][0]}, {top[0][1]}x)" if top else "")
            + f"; nothing was written, {out / QUESTIONS_FILE} (if any) is unchanged"
        )
    rejects_table = pa.Table.from_pylist(rejects, schema=REJECTS) if rejects else REJECTS.empty_table()
    n_train = int(pc.sum(pc.equal(questions["split"], "train")).as_py() or 0)
    n_test = int(pc.sum(pc.equal(questions["split"], "test")).as_py() or 0)
    flags = (
        Counter(f for fl in questions["flags"].to_pylist() if fl for f in fl) if _any_flags(questions) else Counter()
    )
    manifest = {
        "command": "ingest",
        "rlev_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": as_dict(config),
        "inputs": inputs,
        "counts": {
            "records_in": n_records,
            "questions": questions.num_rows,
            "rejects": len(rejects),
            "exams": n_exams,
            "train": n_train,
            "test": n_test,
            "validation": questions.num_rows - n_train - n_test,
        },
        "split": split_info,
        "shared_questions": {
            "note": "the same question and answer in several papers is kept in each, with that paper's points "
            "and total; the papers sharing it are kept in the same split",
            "questions": shared.n_questions,
            "rows": shared.n_rows,
            "examples": shared.examples,
        },
        "reject_reasons": dict(reasons),
        "flags": dict(flags),
        "warnings": warnings,
        "in_text_points_mismatch": [m for r in results for m in r.notes.get("in_text_points_mismatch", [])],
        "exams": exam_rows,
    }
    indent = 2 if len(exam_rows) <= 2000 else None  # big: compact, fast
    write_set(
        out,
        {
            QUESTIONS_FILE: parquet_writer(questions, "questions"),
            REJECTS_FILE: parquet_writer(rejects_table, "rejects"),
            MANIFEST_FILE: lambda path: write_json_file(path, manifest, indent),
        },
    )
    formats = Counter(r.format for r in results)
    return IngestResult(
        out / QUESTIONS_FILE,
        out / REJECTS_FILE,
        out / MANIFEST_FILE,
        n_records,
        questions.num_rows,
        len(rejects),
        n_exams,
        n_train,
        n_test,
        dict(formats),
        dict(reasons),
        warnings,
        [{k: entry[k] for k in ("path", "format", "records")} for entry in inputs],
        questions.num_rows - n_train - n_test,
    )


def _with_name_hints(candidates: pa.Table, name: PurePath, released: dict[str, int]) -> pa.Table:
    """The split and language a file or folder name states, where the records say nothing."""
    split = splits.split_from_name(name)
    if split is not None:
        released["file names"] += candidates["split"].null_count
    candidates = splits.fill_column(candidates, "split", split)
    return splits.fill_column(candidates, "language", splits.language_from_name(name))


def _check_unusable(results: list[ReadResult], inputs: list[dict[str, Any]], config: IngestConfig) -> None:
    """A file that cannot be read at all is an error naming it, unless --skip-unreadable (then one reject)."""
    bad = [(entry["path"], r.unusable) for r, entry in zip(results, inputs, strict=True) if r.unusable]
    if bad and not config.skip_unreadable:
        listed = "; ".join(f"{path}: {reason}" for path, reason in bad)
        raise RlevError(
            f"{len(bad)} file(s) cannot be read: {listed} (nothing was written; fix or remove "
            f"{'it' if len(bad) == 1 else 'them'}, or pass --skip-unreadable to ingest the other files)"
        )


def _given_ids(results: list[ReadResult]) -> pa.Array:
    parts = [
        r.candidates["given_id"]
        if "given_id" in r.candidates.column_names
        else pa.nulls(r.candidates.num_rows, pa.string())
        for r in results
    ]
    return (
        pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts])
        if parts
        else pa.array([], pa.string())
    )


def _check_counts(n_records: int, n_questions: int, n_rejects: int) -> None:
    if n_records != n_questions + n_rejects:  # a bug, not a user error: keep the traceback
        raise AssertionError(f"records in {n_records} != questions {n_questions} + rejects {n_rejects}")


def _any_flags(questions: pa.Table) -> bool:
    lengths = pc.list_value_length(questions["flags"])
    return bool(pc.max(pc.fill_null(lengths, 0)).as_py() or 0)


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary: question ids and bare numbers (row-specific) become '…'; quoted
    column names and values stay, and nothing is cut, so a group keeps its remedy."""
    import re

    parts = re.split(r"('[^']*')", reason)  # odd parts are quoted: kept as written
    return "".join(
        part if i % 2 else re.sub(r"\b[0-9a-f]{16}\b|(?<![\w.-])\d+(?:\.\d+)?(?![\w-])", "…", part)
        for i, part in enumerate(parts)
    )
