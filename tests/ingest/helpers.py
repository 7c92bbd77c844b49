from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from rlev_cli.ingest import run_ingest
from rlev_cli.ingest.config import IngestConfig


def ingest(paths, out: Path, **options):
    result = run_ingest([Path(p) for p in paths], IngestConfig(out=out, **options))
    questions = pq.read_table(out / "questions.parquet").to_pylist()
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    manifest = json.loads((out / "manifest.json").read_text())
    return result, questions, rejects, manifest
