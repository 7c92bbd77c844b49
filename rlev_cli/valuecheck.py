"""The values at the door of `train` and `evaluate`: every value in the column used is checked once.

A value is a question's share of its exam's points, v = s_ij / T_i, so it is finite and in [0, 1]. A table
written by another tool can break that: a NaN gives right and wrong answers the same NaN reward (and makes the
uniform scale s̄ NaN), a negative value punishes a correct answer, a value above 1 is silently capped by
s(x) = 1 + min(α·v, 1), and any of them skews H-Acc. Each is an `Error:` naming the table, the column, the
count and the first ids; with `--skip-bad-values` those rows are left out instead and counted (summary,
manifest). A null value is not bad: it is an unscored question (train leaves it out, H-Acc weighs it 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.errors import RlevError
from rlev_cli.settings import setting

FIRST_IDS = 5  # ids named in the error message


@dataclass
class ValueSettings:
    """The one value setting `train` and `evaluate` share."""

    skip_bad_values: bool = setting(
        False,
        help="Leave out rows whose value is NaN, infinite, negative or above 1 (counted in the summary and "
        "manifest) instead of stopping with an error.",
    )


@dataclass
class BadValues:
    """Rows whose value is not a share in [0, 1]: how many of each kind, and their ids (table order)."""

    column: str
    ids: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # nan, infinite, negative, above 1 (only those found)

    @property
    def n(self) -> int:
        return len(self.ids)

    def describe(self) -> str:
        """How many of each kind, and the first ids: `NaN: 1, negative: 2; first ids: a, b, c`."""
        counted = ", ".join(f"{kind}: {n}" for kind, n in self.kinds.items())
        return f"{counted}; first ids: {', '.join(self.ids[:FIRST_IDS])}"

    def skipped(self, rows: str, out_of: str = "") -> str:
        """The --skip-bad-values warning: `rows` names them ("train row(s)"), `out_of` what they were left out of."""
        return (
            f"--skip-bad-values: {self.n} {rows} with a {self.column!r} value outside [0, 1] left out{out_of} "
            f"({self.describe()})"
        )

    def as_dict(self) -> dict[str, object]:
        """For a manifest: the column, the count, the count per kind and the first ids."""
        return {"column": self.column, "n": self.n, "kinds": self.kinds, "first_ids": self.ids[:FIRST_IDS]}


def check_values(
    table: pa.Table, column: str, path: Path, skip: bool, rows: str = "row(s)"
) -> tuple[pa.Table, BadValues]:
    """`table` without its bad-value rows and what they were; without `skip`, an error if there is any
    (`rows` names them in it: "test-split row(s)" for the eval set of `train --eval-steps`).

    >>> t = pa.table({"id": ["a", "b", "c", "d"], "value": [0.5, float("nan"), None, 2.0]})
    >>> kept, bad = check_values(t, "value", Path("q.parquet"), skip=True)
    >>> kept["id"].to_pylist(), bad.n, bad.kinds
    (['a', 'c'], 2, {'NaN': 1, 'above 1': 1})
    """
    values = table[column]
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type) or pa.types.is_null(values.type)):
        raise RlevError(f"{path}: column {column!r} holds {values.type}, not numbers; values are shares in [0, 1]")
    values = pc.cast(values, pa.float64())
    finite = pc.is_finite(values)
    masks = {
        "NaN": pc.is_nan(values),
        "infinite": pc.is_inf(values),
        "negative": pc.and_(finite, pc.less(values, 0.0)),
        "above 1": pc.and_(finite, pc.greater(values, 1.0)),
    }
    bad_mask = pc.fill_null(
        pc.or_(pc.or_(masks["NaN"], masks["infinite"]), pc.or_(masks["negative"], masks["above 1"])), False
    )
    kinds = {kind: n for kind, mask in masks.items() if (n := int(pc.sum(pc.fill_null(mask, False)).as_py() or 0))}
    bad = BadValues(column, [str(i) for i in table.filter(bad_mask)["id"].to_pylist()], kinds)
    if bad.n and not skip:
        raise RlevError(
            f"{path}: {bad.n} {rows} of column {column!r} hold a value outside [0, 1] ({bad.describe()}); "
            "a value is a share of the exam's points: fix the table, or pass --skip-bad-values to leave these "
            "rows out (counted)"
        )
    return (table.filter(pc.invert(bad_mask)) if bad.n else table), bad
