"""Settings of every stage, one dataclass each; each field's help is also its --help text. Stdlib only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError


def help_for(config: type, name: str) -> str:
    """The help text of one config field (used by the Typer options)."""
    return next(f.metadata["help"] for f in dataclasses.fields(config) if f.name == name)


def as_dict(config: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()}


@dataclass
class IngestConfig:
    """Settings of `rlev ingest`."""

    out: Path = field(default=Path("rlev-workspace"), metadata={"help": "Folder for questions.parquet, "
                      "rejects.parquet and manifest.json (default: the workspace)."})
    format: str = field(default="auto", metadata={"help": "auto|gaokao|jeebench|ksat|rlev|table|text "
                        "(auto detects per file and reports its choice)."})
    total: float | None = field(default=None, metadata={"help": "Every exam in these inputs totals N points."})
    totals: Path | None = field(default=None, metadata={"help": "CSV (exam_id,total) or JSON {exam_id: total}."})
    scheme: Path | None = field(default=None, metadata={"help": "JSON marking scheme {exam_id or '*': "
                                "{type label: full marks}} for data without points (JEEBench)."})
    field_map: dict[str, str] = field(default_factory=dict, metadata={"help": "KEY=COLUMN for tables: KEY is "
                                      "question, answer, score, total, exam_id, options, qtype, subject or id."})
    total_from_sum: bool = field(default=False, metadata={"help": "Declare the papers complete: an exam "
                                 "with no other total gets the sum of its points (common + one elective)."})
    test_fraction: float = field(default=0.1, metadata={"help": "Share of questions whose exams go to the "
                                 "test split (whole exams, deterministic under --seed)."})
    seed: int = field(default=0, metadata={"help": "Seed of the train/test split."})
    strict: bool = field(default=False, metadata={"help": "Fail (write nothing) if any record is rejected."})

    def __post_init__(self) -> None:
        from rlev_cli.ingest.table import MAP_KEYS

        if self.format not in ("auto", "gaokao", "jeebench", "ksat", "rlev", "table", "text"):
            raise RlevError(f"--format {self.format!r}: choose auto, gaokao, jeebench, ksat, rlev, table or text")
        if not 0.0 <= self.test_fraction < 1.0:
            raise RlevError(f"--test-fraction {self.test_fraction}: must be in [0, 1)")
        if self.total is not None and not self.total > 0:
            raise RlevError(f"--total {self.total}: an exam total must be > 0")
        for key in self.field_map:
            if key not in MAP_KEYS:
                raise RlevError(f"--map {key}=…: unknown key; use one of {', '.join(MAP_KEYS)}")
