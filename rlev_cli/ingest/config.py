"""Settings of `rlev ingest`: one declaration each (field = Python argument = YAML key = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.ingest.table import MAP_KEYS
from rlev_cli.settings import setting
from rlev_cli.workspace import WorkspaceSettings

FORMATS = ("auto", "gaokao", "jeebench", "ksat", "rlev", "table", "text")  # "auto" + ingest.readers.READERS


@dataclass
class IngestConfig(WorkspaceSettings):
    """Settings of `rlev ingest`."""

    out: Path | None = setting(
        None,
        flags=("--out", "-o"),
        help="Folder for questions.parquet, rejects.parquet and manifest.json [default: the workspace].",
    )
    format: str = setting(
        "auto", choices=FORMATS, help="Input format; auto detects it per file and reports its choice."
    )
    total: float | None = setting(None, help="Every exam in these inputs totals N points.")
    totals: Path | None = setting(None, help="CSV (exam_id,total) or JSON {exam_id: total}.")
    scheme: Path | None = setting(
        None, help="JSON marking scheme {exam_id or '*': {type label: full marks}} for data without points (JEEBench)."
    )
    field_map: dict[str, str] = setting(
        factory=dict,
        flags=("--map",),
        metavar="KEY=COLUMN",
        help=f"Column of a table for KEY (repeatable); KEY is one of {', '.join(MAP_KEYS)}.",
    )
    total_from_sum: bool = setting(
        False,
        help="Declare the papers complete: an exam with no other total gets the sum of its points "
        "(common + one elective).",
    )
    test_fraction: float = setting(
        0.1, help="Share of questions whose exams go to the test split (whole exams, deterministic under --seed)."
    )
    seed: int = setting(0, help="Seed of the train/test split.")
    strict: bool = setting(False, help="Fail (write nothing) if any record is rejected.")
    skip_unreadable: bool = setting(
        False,
        help="Ingest the other files when one cannot be read at all (empty, binary, truncated, no score "
        "column): it becomes one reject instead of an error.",
    )
    unscored: bool = setting(
        False,
        help="Keep questions without points (score, total and value null, value_source 'none') for "
        "`rlev predict-values` to label.",
    )

    def __post_init__(self) -> None:
        if self.out is None:
            self.out = self.workspace
        if self.format not in FORMATS:
            raise RlevError(f"--format {self.format!r}: choose {', '.join(FORMATS)}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise RlevError(f"--test-fraction {self.test_fraction}: must be in [0, 1)")
        if self.total is not None and not self.total > 0:
            raise RlevError(f"--total {self.total}: an exam total must be > 0")
        for key in self.field_map:
            if key not in MAP_KEYS:
                raise RlevError(f"--map {key}=…: unknown key; use one of {', '.join(MAP_KEYS)}")
