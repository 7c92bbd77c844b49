"""The train/test split: kept as released when the input says it, else drawn by exam.

A split comes with the data when a record has a `split` column, or when its file or folder name (below
the path the user gave) is `train`, `test` or `validation` (`RLEV_train_en.json`, `zh/test.jsonl`). It
is never re-drawn. Otherwise whole exams go to test, in the order of sha256(seed:exam), until test holds
`test_fraction` of the questions. Exams that share a question (the same question printed in two papers)
form one unit, so a question never sits on both sides. Records without an exam id are their own exams,
so such a file is split by record, never collapsed into one exam.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.ingest.config import IngestConfig
from rlev_cli.ingest.records import SPLIT_WORDS, first_rows, per_exam
from rlev_cli.schema import QUESTIONS

SPLITS = ("train", "test", "validation")
_LANGUAGE_WORDS = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "zh": "zh",
    "cn": "zh",
    "chinese": "zh",
    "ko": "ko",
    "korean": "ko",
    "ja": "ja",
    "japanese": "ja",
}


def _words(name: PurePath) -> list[list[str]]:
    """Lower-case words of each part of a relative path, the file name (without suffixes) first."""
    parts = [*name.parts[:-1], name.name.split(".")[0]] if name.parts else []
    return [[w for w in re.split(r"[^a-z]+", part.lower()) if w] for part in reversed(parts)]


def split_from_name(name: PurePath) -> str | None:
    """`train` / `test` / `validation` when a file or folder name says so (the innermost name wins)."""
    for words in _words(name):
        found = {SPLIT_WORDS[w] for w in words if w in SPLIT_WORDS}
        if len(found) == 1:
            return found.pop()
    return None


def language_from_name(name: PurePath) -> str | None:
    """`en`, `zh`, `ko`, `ja` when a file or folder name says so (`RLEV_test_zh.json`, `en/train.json`)."""
    for words in _words(name):
        found = {_LANGUAGE_WORDS[w] for w in words if w in _LANGUAGE_WORDS}
        if len(found) == 1:
            return found.pop()
    return None


def detect_language(question: pa.Array) -> pa.Array:
    """By script: Hangul -> ko, kana -> ja, CJK ideographs -> zh, Latin letters -> en, else null."""
    hangul = pc.match_substring_regex(question, "[\uac00-\ud7a3]")
    kana = pc.match_substring_regex(question, "[\u3040-\u30ff]")
    han = pc.match_substring_regex(question, "[\u4e00-\u9fff]")
    latin = pc.match_substring_regex(question, "[A-Za-z]")
    return pc.case_when(pc.make_struct(hangul, kana, han, latin), "ko", "ja", "zh", "en")


def fill_column(table: pa.Table, name: str, value: str | None) -> pa.Table:
    """Nulls of a string column set to `value` (a file-level hint)."""
    if value is None or table.num_rows == 0:
        return table
    column = pc.fill_null(table[name], pa.scalar(value, pa.string()))
    return table.set_column(table.schema.get_field_index(name), name, column)


class _Units:
    """Union-find over exam codes: exams that share a question are split together."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def assign_splits(
    split: pa.Array,
    exams: list[str],
    codes: np.ndarray,
    links: list[tuple[int, int]],
    test_fraction: float,
    seed: int,
    warnings: list[str],
) -> tuple[pa.Array, dict[str, Any]]:
    """The split of every row (`split` holds the released one, null = to draw) and how it was decided.

    `codes` maps rows to `exams`; `links` pairs exam codes that share a question. Column-wise: splits
    are small integer codes (an index into SPLITS) until the end."""
    n = len(codes)
    code = (
        pc.fill_null(pc.index_in(split, value_set=pa.array(SPLITS)), -1).to_numpy(zero_copy_only=False).astype(np.int8)
        if n
        else np.zeros(0, np.int8)
    )
    given = code >= 0
    if links:
        units = _Units(len(exams))
        for a, b in links:
            units.union(a, b)
        unit = np.array([units.find(e) for e in range(len(exams))], dtype=np.int64)[codes]
    else:
        unit = codes.astype(np.int64)
    info: dict[str, Any] = {"released": int(given.sum()), "drawn": int(n - given.sum())}
    if given.any():
        spread = _exams_across_splits(code[given], codes[given], exams)
        if spread:
            warnings.append(
                f"{len(spread)} exam(s) sit in more than one split as released (e.g. {spread[0]!r}); kept as given"
            )
    todo = ~given
    if todo.any() and given.any():  # a unit with released rows takes their split; the rest are drawn whole
        unit_split = np.full(len(exams), -1, dtype=np.int8)
        unit_split[unit[given]] = code[given]
        inherited = todo & (unit_split[unit] >= 0)
        code[inherited] = unit_split[unit[inherited]]
        todo &= ~inherited
    if todo.any():
        code[todo] = _draw(unit[todo], exams, test_fraction, seed, warnings)
    info["method"] = (
        "as released"
        if not info["drawn"]
        else "drawn by exam"
        if not info["released"]
        else "as released, the rest drawn by exam"
    )
    column = pa.DictionaryArray.from_arrays(pa.array(code), pa.array(SPLITS)).cast(pa.string())
    return column, info


def _exams_across_splits(split_codes: np.ndarray, codes: np.ndarray, exams: list[str]) -> list[str]:
    """Exams whose released rows sit in more than one split."""
    pairs = np.unique(codes.astype(np.int64) * len(SPLITS) + split_codes)
    exam_of_pair = pairs // len(SPLITS)
    repeated = exam_of_pair[1:][exam_of_pair[1:] == exam_of_pair[:-1]]
    return [exams[c] for c in np.unique(repeated)]


def _draw(unit: np.ndarray, exams: list[str], test_fraction: float, seed: int, warnings: list[str]) -> np.ndarray:
    """Whole units to test, in the order of sha256(seed:first exam of the unit), until test holds
    test_fraction of these rows; at least one unit stays in train. Returns split codes (0 train, 1 test)."""
    names, inverse, sizes = np.unique(unit, return_inverse=True, return_counts=True)
    is_test = np.zeros(len(names), dtype=bool)
    if test_fraction > 0 and len(names) == 1:
        warnings.append("only one exam: the test split is empty (split is by exam)")
    elif test_fraction > 0:
        keys = [hashlib.sha256(f"{seed}:{exams[u]}".encode()).hexdigest() for u in names]
        order = np.argsort(np.array(keys))
        # Units to test in that order until the target is reached (never the last unit).
        taken = np.cumsum(sizes[order]) - sizes[order]  # rows already in test before each unit
        chosen = order[:-1][taken[:-1] < test_fraction * len(unit)]
        is_test[chosen] = True
        n_test = int(sizes[is_test].sum())
        if not 0.5 <= n_test / (test_fraction * len(unit)) <= 2:  # whole exams overshoot (or miss) badly
            warnings.append(
                f"--test-fraction {test_fraction:g}: the split is drawn by whole exam and {len(names)} exam(s) "
                f"cannot come close: test holds {n_test} of {len(unit)} questions "
                f"({100 * n_test / len(unit):.0f} %); ingest more exams, or choose the split with a 'split' column"
            )
    return is_test[inverse].astype(np.int8)


def split_questions(
    questions: pa.Table, links_by_id: list[tuple[str, str]], config: IngestConfig, warnings: list[str]
) -> tuple[pa.Table, dict[str, Any]]:
    """The split column (kept as released, else drawn by exam: see splits.py) and how it was decided."""
    exams, codes = per_exam(questions["exam_id"])
    code_of = {exam: e for e, exam in enumerate(exams)} if links_by_id else {}
    links = [(code_of[a], code_of[b]) for a, b in links_by_id if a in code_of and b in code_of]
    split = questions["split"].combine_chunks() if questions.num_rows else pa.array([], pa.string())
    values, info = assign_splits(split, exams, codes, links, config.test_fraction, config.seed, warnings)
    if links:  # released splits win even over shared questions; say when that leaks one across splits
        first_split = values.take(pa.array(first_rows(codes, len(exams)))).to_pylist()
        crossing = [(exams[a], exams[b]) for a, b in links if first_split[a] != first_split[b]]
        if crossing:
            warnings.append(
                f"{len(crossing)} question(s) are shared by papers in different released splits "
                f"(e.g. {crossing[0][0]!r} and {crossing[0][1]!r}); kept as released"
            )
    own = pc.sum(pc.fill_null(questions["own_exam"], False)).as_py() or 0
    info["unit"] = "exam" if not own else "record (no exam id in the input: each record is its own exam)"
    info["records_as_own_exam"] = int(own)
    if info["drawn"]:
        info.update(seed=config.seed, test_fraction=config.test_fraction)
    table = pa.table({f.name: values if f.name == "split" else questions[f.name] for f in QUESTIONS}, schema=QUESTIONS)
    return table, info
