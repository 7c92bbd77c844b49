"""An in-domain table without any value (all unscored): Acc is there, H-Acc is undefined, and value buckets cut
on nothing are not made. Before: exit 0, no word of it, and bottom20/middle60/top20 rows over null values."""

from __future__ import annotations

import math

from rlev_cli.evaluate.core import coverage_warnings, summary_rows


def rows(values):
    return [
        {"id": f"q{k}", "correct": k % 2 == 0, "response_tokens": 10 + k, "value": v, "ungraded_cause": None}
        for k, v in enumerate(values)
    ]


def test_no_value_no_buckets_and_one_warning():
    unvalued = rows([None] * 5)
    summary = summary_rows("m", "indomain", unvalued, 0)
    assert [r["bucket"] for r in summary] == ["all"]
    assert summary[0]["acc"] == 60.0 and math.isnan(summary[0]["h_acc"])
    assert coverage_warnings("m", "indomain", unvalued) == [
        "m indomain: no item has a value (all unscored, or all 0): H-Acc is undefined and no value buckets were "
        "made; give the table points at ingest, or fill values with `rlev predict-values`"
    ]
    valued = rows([None, 0.1, 0.2, 0.3, 0.4])  # one unscored row among scored ones: buckets as before
    assert [r["bucket"] for r in summary_rows("m", "indomain", valued, 0)] == ["all", "bottom20", "middle60", "top20"]
    assert coverage_warnings("m", "indomain", valued) == [] and coverage_warnings("m", "mmlu_pro", unvalued) == []
