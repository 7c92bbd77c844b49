"""`run_predict_values`: value labels where exams give none, with an honest cross-validated report.

Flow: read the table -> (difficulty mapping | saved model | fit) -> out-of-fold report against a trivial
baseline (mean value per question type) -> fit on all scored rows -> fill `value_pred` for every row and
`value` where it is missing (or everywhere with --all) -> write table, model (.skops) and report.
Folds are grouped by exam: a question's own exam never helps predict it. With --all (the noisy-value
ablation) a scored row's written value is its out-of-fold prediction, the very one the report measures:
the model fitted on all scored rows has seen that row, and its in-sample error is several times smaller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from rlev_cli import __version__
from rlev_cli.errors import RlevError
from rlev_cli.settings import as_dict
from rlev_cli.values.config import DIFFICULTY_LEVELS, ValuesConfig
from rlev_cli.values.features import MODELS, N_TEXT_FEATURES, CharNgramHasher, ValueRegressor, feature_frame
from rlev_cli.workspace import Writer, workspace_lock, write_files, write_json_file

MIN_EXAMS = 3
MIN_ROWS = 20
SCORE_GRID = 0.5  # exact match of predicted points is counted after rounding to half points
REQUIRED = ("id", "exam_id", "question", "qtype")


@dataclass
class ValuesResult:
    """What `run_predict_values` wrote (the table, the report and the model, when there are ones), how
    many rows got a new value and where the values came from ("predicted" or "difficulty")."""

    out_path: Path
    report_path: Path | None
    model_path: Path | None
    n_rows: int
    n_filled: int
    source: str
    report: dict[str, Any]


class SavedModel(TypedDict):
    """What `model_writer` saves: the fitted regressor, the target it predicts and the model name."""

    pipeline: ValueRegressor
    target: str  # "value" or "score"
    model: str  # one of features.MODELS


def read_table(path: Path) -> pd.DataFrame:
    """A questions table as a DataFrame, with float value/score/total and a value_source column."""
    from rlev_cli.schema import read_questions

    frame: pd.DataFrame = read_questions(path, REQUIRED).to_pandas()
    if "value_source" in frame and "value" not in frame:  # not "row … has no finite value" for every row
        raise RlevError(f"{path}: not a questions table, missing column(s) value (it has value_source)")
    for column in ("value", "score", "total"):
        if column not in frame:
            frame[column] = np.nan
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    if "value_source" not in frame:
        frame["value_source"] = np.where(frame["value"].notna(), "score", "none")
    return frame


def scored_mask(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """Rows whose value is ground truth; NaN or out-of-range truth is an error, not a silent skip."""
    truth = (frame["value_source"] == "score").to_numpy()
    bad = truth & ~np.isfinite(frame["value"].to_numpy())
    if bad.any():
        raise RlevError(
            f"{path}: row id {frame['id'].iloc[int(np.flatnonzero(bad)[0])]!r} has value_source "
            "'score' but no finite value (NaN); fix or re-ingest the table"
        )
    out_of_range = truth & ((frame["value"] < 0) | (frame["value"] > 1)).to_numpy()
    if out_of_range.any():
        raise RlevError(
            f"{path}: row id {frame['id'].iloc[int(np.flatnonzero(out_of_range)[0])]!r} has a value outside [0, 1]"
        )
    return truth


def run_predict_values(config: ValuesConfig) -> ValuesResult:
    """Fill (or with `replace_all` overwrite) the value column of a questions table: from a difficulty
    column, a saved model, or a model fitted on the scored rows and cross-validated by exam (then saved,
    with value_report.json). Scored rows keep their ground truth unless `replace_all`.

    The output folder is locked from reading the table to writing it (`workspace.workspace_lock`), so an
    `ingest` cannot replace the table in between; the table, model and report are written as a set."""
    assert config.data is not None  # ValuesConfig.__post_init__ resolves it from the workspace
    out_path = Path(config.out or config.data)
    names = (out_path.name, _model_path(config, out_path).name, _report_path(config, out_path).name)
    with workspace_lock(out_path.parent, "rlev predict-values", files=names):
        return _predict_values(config, out_path)


def _model_path(config: ValuesConfig, out_path: Path) -> Path:
    return Path(config.model_out or out_path.with_name(out_path.stem + ".values_model.skops"))


def _report_path(config: ValuesConfig, out_path: Path) -> Path:
    # A saved model applied to new rows gets a report of its own: the fit's value_report.json stays.
    return out_path.with_name("value_applied_report.json" if config.model_in else "value_report.json")


def _predict_values(config: ValuesConfig, out_path: Path) -> ValuesResult:
    assert config.data is not None
    frame = read_table(config.data)
    truth = scored_mask(frame, config.data)
    report: dict[str, Any]
    model_path: Path | None
    writers: dict[Path, Writer] = {}
    if config.from_difficulty:
        predicted, source, report, model_path = from_difficulty(frame, config), "difficulty", {}, None
    elif config.model_in:
        predicted, report = apply_saved(frame, truth, config)
        source, model_path = "predicted", None
    else:
        predicted, report, model = fit_and_report(frame, truth, config)
        source = "predicted"
        model_path = _model_path(config, out_path)
        writers[model_path] = model_writer(model, report)
    table, n_filled = with_predictions(frame, predicted, truth, source, config.replace_all)
    from rlev_cli.schema import parquet_writer

    writers[out_path] = parquet_writer(table, "questions", {"value_pred": source})
    report_path = None
    if report:
        report = {
            "command": "predict-values",
            "rlev_version": __version__,
            "data": str(config.data),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": as_dict(config),
            **report,
        }
        report_path = _report_path(config, out_path)
        writers[report_path] = lambda path: write_json_file(path, report)
    write_files(writers)  # the model, the table, then the report that describes them
    return ValuesResult(out_path, report_path, model_path, len(frame), n_filled, source, report)


def from_difficulty(frame: pd.DataFrame, config: ValuesConfig) -> np.ndarray:
    """Values from a difficulty column: the WebInstruct-verified labels or their levels 1-5 in order."""
    column = config.from_difficulty
    if column not in frame:
        raise RlevError(f"{config.data}: no column {column!r} for --from-difficulty")
    names = list(DIFFICULTY_LEVELS)
    levels = (
        frame[column]
        .astype(str)
        .str.strip()
        .str.casefold()
        .str.replace("_", " ")
        .map(lambda text: _level_name(text, names))
    )
    unknown = levels.isna() | frame[column].isna()
    if unknown.any():
        first = int(np.flatnonzero(unknown.to_numpy())[0])
        accepted = ", ".join(f"{i} = {name}" for i, name in enumerate(names, start=1))
        raise RlevError(
            f"{config.data}: row id {frame['id'].iloc[first]!r}: difficulty {frame[column].iloc[first]!r} "
            f"is not a level; --from-difficulty accepts {accepted} (labels in any case)"
        )
    return levels.map(DIFFICULTY_LEVELS).to_numpy(dtype=float) / 100.0


def _level_name(text: str, names: list[str]) -> str | None:
    """'PhD' -> 'phd'; '3' or '3.0' -> the third level; anything else -> None."""
    if text in names:
        return text
    try:
        number = float(text)
    except ValueError:
        return None
    return names[int(number) - 1] if number.is_integer() and 1 <= number <= len(names) else None


def _targets(frame: pd.DataFrame, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    value = frame["value"].to_numpy()[truth]
    total = frame["total"].to_numpy()[truth]
    score = frame["score"].to_numpy()[truth]
    score = np.where(np.isfinite(score), score, value * total)
    return value, score, total


CV_MAX_ROWS = 20_000  # larger tables are cross-validated on a sample of whole exams


def cv_sample(groups: np.ndarray, seed: int) -> np.ndarray:
    """Indices of whole exams, in random order, until CV_MAX_ROWS rows are covered."""
    if len(groups) <= CV_MAX_ROWS:
        return np.arange(len(groups))
    exams = pd.unique(groups)
    np.random.default_rng(seed).shuffle(exams)
    sizes = pd.Series(groups).value_counts()
    chosen, rows = set(), 0
    for exam in exams:
        chosen.add(exam)
        rows += sizes[exam]
        if rows >= CV_MAX_ROWS:
            break
    return np.flatnonzero(pd.Series(groups).isin(chosen).to_numpy())


def exam_folds(groups: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds grouped by exam: (train rows, test rows) pairs, no exam on both sides."""
    from sklearn.model_selection import GroupKFold

    splitter = GroupKFold(n_splits=min(n_folds, len(set(groups))))
    return [(train, test) for train, test in splitter.split(np.zeros(len(groups)), groups=groups)]


def fit_and_report(
    frame: pd.DataFrame, truth: np.ndarray, config: ValuesConfig
) -> tuple[np.ndarray, dict[str, Any], SavedModel]:
    scored = frame[truth]
    groups = scored["exam_id"].to_numpy()
    n_exams = len(set(groups))
    if truth.sum() == 0:
        raise RlevError(f"{config.data}: no scored rows (value_source 'score') to learn from")
    if n_exams < MIN_EXAMS or truth.sum() < MIN_ROWS:
        raise RlevError(
            f"{config.data}: {int(truth.sum())} scored questions in {n_exams} exam(s): too few to fit "
            f"and cross-validate honestly (need at least {MIN_ROWS} questions in {MIN_EXAMS} exams)"
        )
    value, score, total = _targets(frame, truth)
    if np.allclose(value, value[0]):
        raise RlevError(f"{config.data}: every scored value equals {value[0]:g}; there is nothing to learn")
    X_all = feature_frame(frame)
    text_all = CharNgramHasher(n_features=N_TEXT_FEATURES).transform(X_all["question"])  # stateless: once
    scored_index = np.flatnonzero(truth)
    X, text = X_all.iloc[scored_index].reset_index(drop=True), text_all[scored_index]
    # --all writes the out-of-fold predictions, so every scored row is cross-validated (no sample)
    sample = np.arange(len(groups)) if config.replace_all else cv_sample(groups, config.seed)
    Xs, Ts = X.iloc[sample].reset_index(drop=True), text[sample]
    vs, ss, ts, gs = value[sample], score[sample], total[sample], groups[sample]
    folds = exam_folds(gs, config.folds)
    targets = ("value", "score") if config.target == "auto" else (config.target,)
    results = {}
    for target in targets:
        y = _y(target, vs, ss)
        for model in MODELS:
            oof = np.zeros(len(vs))
            for train, test in folds:
                fitted = ValueRegressor(model=model, seed=config.seed).fit(Xs.iloc[train], y[train], text=Ts[train])
                oof[test] = _to_value(target, fitted.predict(Xs.iloc[test], text=Ts[test]), ts[test])
            results[(target, model)] = oof
    (target, model), oof = min(results.items(), key=lambda kv: np.mean(np.abs(kv[1] - vs)))
    baseline = _baseline_oof(Xs["qtype"].to_numpy(), vs, folds)  # the trivial predictor, same folds
    report = {
        "n_scored": int(truth.sum()),
        "n_exams": n_exams,
        "n_cross_validated": len(sample),
        "folds": len(folds),
        "grouped_by": "exam_id",
        "chosen": {"target": target, "model": model},
        "candidates_mae": {f"{t}/{m}": round(float(np.mean(np.abs(o - vs))), 6) for (t, m), o in results.items()},
        "model": _metrics(oof, vs, ts, ss),
        "baseline_mean_per_qtype": _metrics(baseline, vs, ts, ss),
    }
    if config.replace_all:
        report["written"] = "scored rows: out-of-fold (the report's folds); unscored rows: the final model"
    regressor = ValueRegressor(model=model, seed=config.seed).fit(X, _y(target, value, score), text=text)
    predicted = _predict(regressor, target, frame, config.default_total, X_all, text_all)
    if config.replace_all:  # each exam's values from a model that never saw that exam: what the report measures
        predicted[scored_index] = oof  # `sample` is every scored row, in table order
    return predicted, report, {"pipeline": regressor, "target": target, "model": model}


def _y(target: str, value: np.ndarray, score: np.ndarray) -> np.ndarray:
    return value if target == "value" else score


def _to_value(target: str, prediction: np.ndarray, total: np.ndarray) -> np.ndarray:
    if target == "value":
        return cast(np.ndarray, np.clip(prediction, 0.0, 1.0))
    return cast(np.ndarray, np.clip(prediction, 0.0, total) / total)  # points in [0, T], then v = points / T


def _predict(
    regressor: ValueRegressor,
    target: str,
    frame: pd.DataFrame,
    default_total: float,
    X: pd.DataFrame | None = None,
    text: Any = None,
) -> np.ndarray:
    total = frame["total"].to_numpy()
    total = np.where(np.isfinite(total) & (total > 0), total, default_total)
    X = feature_frame(frame) if X is None else X
    return _to_value(target, regressor.predict(X, text=text), total)


def _baseline_oof(qtypes: np.ndarray, value: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    oof = np.zeros(len(value))
    for train, test in folds:
        means = pd.Series(value[train]).groupby(qtypes[train]).mean()
        oof[test] = pd.Series(qtypes[test]).map(means).fillna(value[train].mean()).to_numpy()
    return oof


def _metrics(predicted: np.ndarray, value: np.ndarray, total: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    def safe(fn: Callable[[np.ndarray, np.ndarray], Any]) -> float:
        if np.std(predicted) == 0 or np.std(value) == 0:
            return 0.0
        return round(float(fn(predicted, value)[0]), 4)

    points = predicted * total
    exact = np.isclose(np.round(points / SCORE_GRID) * SCORE_GRID, score)
    return {
        "spearman": safe(spearmanr),
        "pearson": safe(pearsonr),
        "mae": round(float(np.mean(np.abs(predicted - value))), 6),
        "score_exact_match": round(float(exact.mean()), 4),
        "score_pearson": round(float(pearsonr(points, score)[0]), 4) if np.std(points) and np.std(score) else 0.0,
    }


def with_predictions(
    frame: pd.DataFrame, predicted: np.ndarray, truth: np.ndarray, source: str, replace_all: bool
) -> tuple[pa.Table, int]:
    frame = frame.copy()
    frame["value_pred"] = predicted
    fill = np.ones(len(frame), dtype=bool) if replace_all else ~truth | ~np.isfinite(frame["value"].to_numpy())
    if replace_all:
        frame["value_original"] = frame["value"]
    frame.loc[fill, "value"] = predicted[fill]
    frame.loc[fill, "value_source"] = source
    from rlev_cli.schema import QUESTIONS

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [QUESTIONS.field(n) if n in QUESTIONS.names else table.schema.field(n) for n in table.column_names]
    return table.cast(pa.schema(fields)), int(fill.sum())


# -- saved models: skops (no code runs on load; only the types listed below are trusted) --------------

# The types a saved values model holds beyond those skops trusts by itself (scikit-learn estimators, numpy
# and scipy arrays, plain containers): exactly these two (docs/values.md). A prefix such as `builtins.`
# would trust `builtins.eval` inside a FunctionTransformer.
TRUSTED_TYPES = (
    "rlev_cli.values.features.ValueRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",  # the boosting model's trees
)


def _skops_io() -> Any:  # the skops.io module (skops ships no types)
    """`skops.io`, imported as it is. (It used to be imported with `torch` hidden from `sys.modules` to
    save the ~2 s torch import that skops's walk over sklearn's modules triggers; scipy's array-API checks
    then dereferenced the hidden module and every `--model-in` crashed. Correct loading comes first.)"""
    import skops.io as sio

    return sio


def model_writer(model: SavedModel, report: dict[str, Any]) -> Writer:
    """A `workspace.write_files` writer saving the fitted model with skops, with what it predicts."""
    meta = {
        "rlev_version": __version__,
        "target": model["target"],
        "model": model["model"],
        "features": "rlev_cli.values.features.feature_frame",
        "report": report,
    }

    def write(path: Path) -> None:
        _skops_io().dump({"pipeline": model["pipeline"], "meta": json.dumps(meta)}, path)

    return write


def load_model(path: Path) -> tuple[Any, dict[str, Any]]:
    sio = _skops_io()

    if not Path(path).exists():
        raise RlevError(f"{path}: no saved values model here")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as err:  # skops raises several types on a corrupt file
        raise RlevError(f"{path}: not a skops file ({err})") from err
    unexpected = [t for t in untrusted if t not in TRUSTED_TYPES]
    if unexpected:
        raise RlevError(
            f"{path}: not loaded: it holds {', '.join(unexpected)}, which a values model never does "
            f"(trusted beyond skops's defaults: {', '.join(TRUSTED_TYPES)})"
        )
    bundle = sio.load(path, trusted=untrusted)
    return bundle["pipeline"], json.loads(bundle["meta"])


def apply_saved(frame: pd.DataFrame, truth: np.ndarray, config: ValuesConfig) -> tuple[np.ndarray, dict[str, Any]]:
    assert config.model_in is not None  # called for --model-in only
    pipeline, meta = load_model(config.model_in)
    predicted = _predict(pipeline, meta["target"], frame, config.default_total)
    report: dict[str, Any] = {
        "model_in": str(config.model_in),
        "chosen": {"target": meta["target"], "model": meta["model"]},
    }
    if truth.sum() >= 2:  # new data with ground truth: an honest held-out check
        value, score, total = _targets(frame, truth)
        report["held_out"] = _metrics(predicted[truth], value, total, score)
    return predicted, report
