"""#17 item 4: tests that kill the mutants of `rlev_cli.evaluate.metrics` the older tests let live (the mutation
run in docs/testing.md): empty inputs, the edges of the guards, unsorted values, sparse buckets."""

from __future__ import annotations

import math
import warnings

import pytest

from rlev_cli.evaluate.metrics import accuracy, bucket_rows, h_accuracy, summarize, value_density


@pytest.fixture
def no_warnings():
    """An empty or zero input is answered with NaN, quietly: no numpy 'Mean of empty slice' on the user's screen."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_value_density_guards_exactly_the_zero_length(no_warnings):
    assert math.isnan(value_density(55.9, 0.0))
    assert value_density(3.0, 0.5) == 6.0  # a mean length under one token still divides
    assert value_density(0.0, 2.0) == 0.0


def test_empty_inputs_are_nan_without_a_warning(no_warnings):
    assert math.isnan(accuracy([]))
    row = summarize([], [], None)
    assert row["n"] == 0 and math.isnan(row["acc"]) and math.isnan(row["mean_length"])
    assert math.isnan(h_accuracy([True, False], [0.0, 0.0]))  # nothing at stake
    assert math.isnan(h_accuracy([], []))


def test_buckets_sort_by_value_whatever_the_input_order():
    ids = [f"q{i:02d}" for i in range(10)]
    values = [0.10, 0.01, 0.05, 0.02, 0.04, 0.03, 0.06, 0.08, 0.07, 0.09]  # not in id order
    correct = [True, False, True, True, False, False, True, False, True, True]
    lengths = [100, 10, 50, 20, 40, 30, 60, 80, 70, 90]  # length = 1000 * value
    rows = {r["bucket"]: r for r in bucket_rows(ids, correct, lengths, values)}
    bottom, middle, top = rows["bottom20"], rows["middle60"], rows["top20"]
    assert (bottom["bucket_low"], bottom["bucket_high"], bottom["mean_length"]) == (0.01, 0.02, 15.0)
    assert (middle["bucket_low"], middle["bucket_high"], middle["n"]) == (0.03, 0.08, 6)
    assert (top["bucket_low"], top["bucket_high"], top["mean_length"], top["acc"]) == (0.09, 0.10, 95.0, 100.0)
    assert bottom["acc"] == 50.0 and bottom["h_acc"] == pytest.approx(100 * 0.02 / 0.03)
    assert middle["value_density"] == pytest.approx(middle["h_acc"] / 55.0)


def test_a_bucket_left_empty_does_not_end_the_others():
    rows = bucket_rows(["a", "b"], [True, False], [10, 20], [0.5, 0.1])  # 2 items: ranks 0-2 are the middle
    assert [(r["bucket"], r["n"], r["bucket_low"], r["bucket_high"], r["h_acc"]) for r in rows] == [
        ("middle60", 2, 0.1, 0.5, pytest.approx(100 * 0.5 / 0.6))
    ]
