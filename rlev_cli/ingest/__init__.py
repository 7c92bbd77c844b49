"""`rlev ingest`: exam papers in, one clean questions table out."""

from rlev_cli.ingest.core import IngestResult, run_ingest

__all__ = ["IngestResult", "run_ingest"]
