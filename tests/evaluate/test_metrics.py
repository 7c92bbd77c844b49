"""The arithmetic of the paper's tables (arXiv 2510.20187 Tables 1 and 8)."""

from __future__ import annotations

import pytest

from rlev_cli.evaluate.metrics import average_rows, bucket_rows, h_accuracy, summarize, value_density


@pytest.mark.parametrize(
    "h_acc,length,density",
    [
        (55.9, 201.8, 0.28),
        (57.0, 84.8, 0.67),
        (61.9, 68.7, 0.90),
        (56.7, 186.2, 0.30),
        (60.9, 345.5, 0.18),
        (58.9, 86.4, 0.68),
        (55.1, 358.4, 0.15),
    ],
)
def test_value_density_reproduces_table_1(h_acc, length, density):
    assert round(value_density(h_acc, length), 2) == density


def test_average_row_is_mean_of_densities_as_in_table_1():
    human_32b = [
        {"acc": 71.0, "h_acc": 61.9, "mean_length": 68.7, "value_density": 0.90},
        {"acc": 72.3, "h_acc": 63.3, "mean_length": 78.7, "value_density": 0.80},
        {"acc": 71.3, "h_acc": 61.7, "mean_length": 148.3, "value_density": 0.42},
    ]
    average = average_rows(human_32b)
    assert round(average["acc"], 1) == 71.5 and round(average["h_acc"], 1) == 62.3
    assert round(average["mean_length"], 1) == 98.6
    assert round(average["value_density"], 2) == 0.71 and round(average["density_of_means"], 2) == 0.63


def test_h_acc_weights_by_value_not_count():
    assert h_accuracy([True, False, False], [0.1, 0.02, 0.02]) == pytest.approx(100 * 0.1 / 0.14)
    row = summarize([True, False], [10, 30], [0.03, 0.01])
    assert row == {"n": 2, "acc": 50.0, "mean_length": 20.0, "h_acc": 75.0, "value_density": 3.75}


def test_buckets_are_bottom_and_top_20_percent_with_stable_ties():
    ids = [f"q{i:02d}" for i in range(10)]
    values = [0.01] * 5 + [0.02, 0.03, 0.04, 0.05, 0.10]
    correct = [i % 2 == 0 for i in range(10)]
    lengths = list(range(10, 110, 10))
    rows = {r["bucket"]: r for r in bucket_rows(ids, correct, lengths, values)}
    assert rows["bottom20"]["n"] == 2 and rows["top20"]["n"] == 2 and rows["middle60"]["n"] == 6
    assert (rows["top20"]["bucket_low"], rows["top20"]["bucket_high"]) == (0.05, 0.10)
    assert rows["bottom20"]["mean_length"] == 15.0  # q00, q01: ties broken by id
    assert rows["top20"]["acc"] == 50.0


def _summary(model, acc, h_acc, length, density, top, bottom):
    base = {"benchmark": "indomain", "n_skipped": 0, "coverage": None, "value_column": "value"}
    return [
        {**base, "model": model, "bucket": "all", "n": 10, "acc": acc, "h_acc": h_acc, "mean_length": length,
         "value_density": density, "coverage": 100.0},
        {**base, "model": model, "bucket": "top20", "n": 2, "acc": top, "h_acc": top, "mean_length": length,
         "value_density": top / length},
        {**base, "model": model, "bucket": "bottom20", "n": 2, "acc": bottom, "h_acc": bottom, "mean_length": length,
         "value_density": bottom / length},
    ]  # fmt: skip


def test_average_rows_over_estimators_and_table_8_reproduce_the_paper():
    from rlev_cli.evaluate.core import Target, accuracy_by_value, averages

    # Table 1 (32B, human-aligned) and Table 8 (32B, human-aligned) of arXiv 2510.20187
    runs = [("reinforce++", 71.0, 61.9, 68.7, 0.90, 62.9, 76.2), ("rloo", 72.3, 63.3, 78.7, 0.80, 62.1, 78.1),
            ("grpo", 71.3, 61.7, 148.3, 0.42, 61.0, 76.6)]  # fmt: skip
    summaries = [row for algo, *m in runs for row in _summary(f"{algo}/rlev", *m)]
    summaries += _summary("rloo/correctness", 70.9, 60.9, 345.5, 0.18, 60.9, 76.6)  # one estimator: no average
    targets = [Target(f"{a}/rlev", None, None, None, a, "rlev") for a, *_ in runs]
    targets.append(Target("rloo/correctness", None, None, None, "rloo", "correctness"))
    average = averages(summaries, targets)
    assert {r["model"] for r in average} == {"Average/rlev"}
    overall = next(r for r in average if r["bucket"] == "all")
    assert [round(overall[k], 1) for k in ("acc", "h_acc", "mean_length")] == [71.5, 62.3, 98.6]
    assert round(overall["value_density"], 2) == 0.71 and overall["n"] == 30  # mean of densities, not 0.63
    table8 = {r["model"]: r for r in accuracy_by_value(summaries + average)}
    assert (table8["rloo/rlev"]["acc_top20"], table8["rloo/rlev"]["acc_bottom20"]) == (62.1, 78.1)
    average8 = table8["Average/rlev"]
    assert (round(average8["acc_top20"], 1), round(average8["acc_bottom20"], 1)) == (62.0, 77.0)
    assert table8["rloo/correctness"] == {"model": "rloo/correctness", "acc": 70.9, "acc_top20": 60.9,
                                           "acc_bottom20": 76.6, "n_top20": 2, "n_bottom20": 2}  # fmt: skip
