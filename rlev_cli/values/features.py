"""Features that work across Chinese, English, Korean and Japanese: character n-grams of the question
plus structure (type, subject, options, length, formula density, sub-parts, answer slots)."""

from __future__ import annotations

import re
from typing import Any, cast

import numpy as np
import pandas as pd

TEXT = "question"
CATEGORIES = ["qtype", "subject", "language"]
STATS = [
    "log_chars",
    "formula_density",
    "n_subparts",
    "n_options",
    "n_slots",
    "n_lines",
    "digit_share",
    "log_answer_chars",
]
N_TEXT_FEATURES = 2**18  # the first columns of make_features() output; boosting skips them
_FORMULA = re.compile(r"[$\\^_{}=+\-*/<>|]")
_SUBPART = re.compile(r"[（(]\s*(?:\d{1,2}|[ivx]{1,4}|Ⅰ|Ⅱ|Ⅲ)\s*[）)]|小问|第\s*\d+\s*问")


def feature_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The model's input: text, categories and numeric statistics, one row per question."""
    rows = rows.reset_index(drop=True)
    question = rows["question"].fillna("").astype(str)
    answer = rows["answer"].fillna("").astype(str) if "answer" in rows else pd.Series([""] * len(rows))
    chars = question.str.len().clip(lower=1)
    frame = pd.DataFrame(
        {
            TEXT: question,
            "qtype": rows.get("qtype", pd.Series(["unknown"] * len(rows))).fillna("unknown").astype(str),
            "subject": rows.get("subject", pd.Series([None] * len(rows))).fillna("unknown").astype(str),
            "language": rows.get("language", pd.Series([None] * len(rows))).fillna("unknown").astype(str),
            "log_chars": np.log1p(chars),
            "formula_density": question.str.count(_FORMULA.pattern) / chars,
            "n_subparts": question.str.count(_SUBPART.pattern).astype(float),
            "n_options": _n_options(rows),
            "n_slots": rows.get("n_slots", pd.Series([1] * len(rows))).fillna(1).astype(float),
            "n_lines": question.str.count("\n").astype(float),
            "digit_share": question.str.count(r"\d") / chars,
            "log_answer_chars": np.log1p(answer.str.len()),
        }
    )
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _n_options(rows: pd.DataFrame) -> pd.Series:
    if "options" not in rows:
        return pd.Series(np.zeros(len(rows)))
    return rows["options"].apply(lambda o: float(len(o)) if o is not None and len(o) else 0.0).reset_index(drop=True)


class CharNgramHasher:
    """Character n-gram counts hashed into `n_features` columns, computed with numpy over the whole
    batch at once (sklearn's HashingVectorizer builds every n-gram in Python: 20x slower on 100k
    questions). Stateless: `fit` learns nothing; the raw counts go to a TfidfTransformer, which learns
    the IDF on training rows only."""

    def __init__(self, *, ngram_range: tuple[int, int] = (1, 3), n_features: int = 2**18, max_chars: int = 192) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.max_chars = max_chars

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"ngram_range": self.ngram_range, "n_features": self.n_features, "max_chars": self.max_chars}

    # scikit-learn's estimator protocol; X is a sequence of texts, the result a scipy.sparse.csr_matrix
    # (scipy ships no types, hence Any)
    def set_params(self, **params: Any) -> CharNgramHasher:
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X: Any, y: Any = None) -> CharNgramHasher:
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.transform(X)

    def transform(self, X: Any) -> Any:
        import scipy.sparse as sp

        if self.n_features & (self.n_features - 1):
            raise ValueError(f"n_features must be a power of two, got {self.n_features}")
        texts = [str(t)[: self.max_chars] for t in (X.tolist() if hasattr(X, "tolist") else X)]
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc = np.repeat(np.arange(len(texts)), lengths)
        remaining = np.repeat(np.cumsum(lengths), lengths) - np.arange(len(codes))  # chars left in the doc
        rows, cols = [], []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            m = len(codes) - n + 1
            if m <= 0:
                continue
            key = np.full(m, np.uint64(n))
            for k in range(n):  # polynomial rolling hash over contiguous slices; uint64 wraps by design
                key = key * np.uint64(1_000_003) + codes[k : k + m]
            key ^= key >> np.uint64(29)
            valid = remaining[:m] >= n  # the n-gram stays inside its document
            rows.append(doc[:m][valid])
            cols.append((key[valid] & np.uint64(self.n_features - 1)).astype(np.int32))  # n_features: 2**k
        matrix = sp.csr_matrix(
            (np.ones(sum(len(r) for r in rows), dtype=np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(texts), self.n_features),
        )
        matrix.sum_duplicates()
        return matrix


def make_structure() -> Any:  # an unfitted sklearn ColumnTransformer (sklearn ships no types)
    """Categories one-hot, statistics standardized (fitted on training rows only)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=2), CATEGORIES),
            ("stats", StandardScaler(), STATS),
        ],
        sparse_threshold=0.0,
    )


class ValueRegressor:
    """Predicts a question's value (or points) from `feature_frame` columns.

    `ridge` uses TF-IDF of hashed character n-grams of the question (sublinear TF, IDF fitted on the
    training rows, L2 rows) plus the structure features; `boosting` (gradient-boosted trees) uses the
    structure features only. The hashed counts are stateless, so a caller may pass them precomputed
    (`text=`) to avoid hashing the same rows twice.

    Attributes (learned): `structure_` (fitted ColumnTransformer), `tfidf_` (fitted TfidfTransformer,
    ridge only), `model_` (fitted regressor).
    """

    def __init__(self, *, model: str = "ridge", seed: int = 0) -> None:
        self.model = model
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"model": self.model, "seed": self.seed}

    def _design(self, X: pd.DataFrame, text: Any = None) -> Any:
        import scipy.sparse as sp

        structure = self.structure_.transform(X)
        if self.model != "ridge":
            return structure
        counts = CharNgramHasher(n_features=N_TEXT_FEATURES).transform(X[TEXT]) if text is None else text
        weighted = self.tfidf_.transform(counts).astype(np.float32)
        return sp.hstack([weighted, sp.csr_matrix(structure, dtype=np.float32)], format="csr")

    def fit(self, X: pd.DataFrame, y: np.ndarray, text: Any = None) -> ValueRegressor:
        from sklearn.feature_extraction.text import TfidfTransformer

        self.structure_ = make_structure().fit(X)
        if self.model == "ridge":
            counts = CharNgramHasher(n_features=N_TEXT_FEATURES).transform(X[TEXT]) if text is None else text
            self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.model_ = make_model(self.model, self.seed).fit(self._design(X, text), y)
        return self

    def predict(self, X: pd.DataFrame, text: Any = None) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise RuntimeError("ValueRegressor is not fitted yet; call fit first")
        return cast(np.ndarray, self.model_.predict(self._design(X, text)))


def make_model(name: str, seed: int) -> Any:  # an unfitted sklearn regressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    if name == "ridge":
        return Ridge(alpha=1.0, solver="sparse_cg", max_iter=200, tol=1e-4)
    if name == "boosting":  # on the non-text columns only (see `structure_columns`)
        return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=10, random_state=seed)
    raise ValueError(f"unknown model {name!r}")


MODELS = ("ridge", "boosting")
