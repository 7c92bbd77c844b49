"""Question ids and duplicates: normalized question + answer -> a stable 64-bit id; copies within a
paper (or without an exam id) are rejects; the same question in several papers is kept in each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rlev_cli.ingest import splits
from rlev_cli.ingest.config import IngestConfig
from rlev_cli.ingest.records import Reject, drop_rows, two_values
from rlev_cli.schema import QUESTIONS


def _normalized(column: pa.Array) -> pa.Array:
    """NFKC, runs of whitespace collapsed to one space, trimmed (the regex runs only where needed)."""
    # ASCII text is its own NFKC form: skip the (costly) normalization when a whole slice is ASCII.
    text = column if pc.all(pc.string_is_ascii(column)).as_py() else pc.utf8_normalize(column, "NFKC")
    messy = pc.match_substring_regex(text, r"\s\s|[\t\n\r\f\v]")
    if pc.any(messy).as_py():  # collapse only the messy rows (a regex replace over all rows costs more)
        text = pc.replace_with_mask(text, messy, pc.replace_substring_regex(text.filter(messy), r"\s+", " "))
    return pc.utf8_trim_whitespace(text)


def normalized_pair(question: pa.ChunkedArray, answer: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """`_normalized` questions and answers. Arrow kernels release the GIL, so the long question column is
    cut in two and the pieces run on two threads next to the answers."""
    from concurrent.futures import ThreadPoolExecutor

    question, answer = question.combine_chunks(), answer.combine_chunks()
    half = len(question) // 2
    with ThreadPoolExecutor(2) as pool:
        first, second, answers = pool.map(_normalized, (question[:half], question[half:], answer))
    return pa.concat_arrays([first, second]), answers


def _hash_keys(keys: pa.Array) -> np.ndarray:
    """A stable 64-bit SipHash of each key (pandas' hash_array with its fixed key)."""
    from pandas.util import hash_array

    # As bytes: pandas hashes a str by its UTF-8 encoding, so the hashes are the same, without decoding
    # each key into a Python str and encoding it back (3x faster on 1M Chinese keys).
    as_bytes = keys.cast(pa.large_binary() if pa.types.is_large_string(keys.type) else pa.binary())
    return hash_array(as_bytes.to_numpy(zero_copy_only=False), categorize=False)


def _hex(hashes: np.ndarray) -> pa.Array:
    """16 hex digits per hash: the question id."""
    hex_text = hashes.astype(">u8").tobytes().hex().encode()
    return pa.array(np.frombuffer(hex_text, dtype="S16")).cast(pa.string())


@dataclass
class SharedQuestions:
    """Questions printed in several papers: kept in each (its own points and total), papers linked."""

    links: list[tuple[str, str]] = field(default_factory=list)  # exam ids sharing a question
    n_questions: int = 0  # distinct questions in more than one paper
    n_rows: int = 0  # rows holding them
    examples: list[dict[str, Any]] = field(default_factory=list)


def build_questions(
    table: pa.Table, given: pa.Array, rejects: list[Reject], config: IngestConfig
) -> tuple[pa.Table, SharedQuestions]:
    n = table.num_rows
    question, answer = normalized_pair(table["question"], table["answer"])
    key = pc.binary_join_element_wise(question, answer, "\x1f")
    key = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
    hashes = _hash_keys(key)
    ids = _hex(hashes)
    has_given = n and given.null_count < n
    if has_given:
        ids = pc.if_else(pc.is_null(given), ids, given)
    shared = SharedQuestions()
    # The first occurrence of a (question, answer) in a paper - and of each given id - is kept; a later
    # copy in the same paper, or where either copy has no exam id, is a duplicate. The same question in
    # another paper is kept there too, with that paper's points (#11 item 7). Duplicates are found on
    # the 64-bit hashes, then confirmed on the keys themselves.
    import pandas as pd

    dup_key = pd.Series(hashes).duplicated().to_numpy()
    dup_id = pd.Series(ids.to_numpy(zero_copy_only=False)).duplicated().to_numpy() if has_given else np.zeros(n, bool)
    if dup_key.any() or dup_id.any():
        key_list = key.to_pylist()
        exam_list = table["exam_id"].to_pylist()
        own = pc.fill_null(table["own_exam"], False).to_numpy(zero_copy_only=False)
        given_list = given.to_pylist() if has_given else [None] * n
        first_by_key: dict[str, int] = {}
        first_in_exam: dict[tuple[str, str], int] = {}
        id_list = ids.to_pylist()
        first_by_id: dict[str, int] = {}
        drop = np.zeros(n, dtype=bool)
        copies: list[tuple[int, bool]] = []  # (kept row, same question?) per dropped row, in row order
        several: dict[str, list[int]] = {}
        for i in range(n):
            earlier = first_by_key.setdefault(key_list[i], i)
            in_exam = first_in_exam.setdefault((key_list[i], exam_list[i]), i)
            if earlier != i and (in_exam != i or own[i] or own[earlier]):
                drop[i] = True
                copies.append((in_exam if in_exam != i else earlier, True))
                continue
            if earlier != i:
                several.setdefault(key_list[i], [earlier]).append(i)
                if given_list[i] is None:  # a copy in another paper gets its own id (hash of key + exam)
                    id_list[i] = None
                    if given_list[earlier] is None:
                        id_list[earlier] = None
            same_id = first_by_id.setdefault(id_list[i], i) if id_list[i] is not None else i
            if same_id != i:
                drop[i] = True
                copies.append((same_id, False))
        if several:
            rows = [i for members in several.values() for i in members if not drop[i]]
            paper_keys = pa.array([key_list[i] + "\x1f" + exam_list[i] for i in rows], pa.string())
            for i, paper_id in zip(rows, _hex(_hash_keys(paper_keys)).to_pylist(), strict=True):
                if id_list[i] is None:
                    id_list[i] = paper_id
            for members in several.values():
                papers = [exam_list[i] for i in members if not drop[i]]
                shared.links.extend((papers[0], other) for other in papers[1:])
                if len(shared.examples) < 20:
                    shared.examples.append({"question": _short(key_list[members[0]]), "exams": papers})
            shared.n_questions, shared.n_rows = len(several), len(rows)
        kept_ids = [id_list[kept] for kept, _ in copies]
        reasons = [
            f"duplicate of {kept_id} (same question and answer)"
            if same_question
            else f"duplicate id {kept_id!r} with a different question"
            for kept_id, (_, same_question) in zip(kept_ids, copies, strict=True)
        ]
        ids = pa.array(id_list, pa.string())
        before = len(rejects)
        table, ids = drop_rows(table, ids, drop, reasons, rejects)
        for rej, kept in zip(rejects[before:], kept_ids, strict=True):
            rej["duplicate_of"] = kept
    score = table["score"].to_numpy(zero_copy_only=False).astype(float)
    total = table["total"].to_numpy(zero_copy_only=False).astype(float)
    flags = table["flags"]
    if (score == 0).any():
        flag_list = flags.to_pylist()
        for row in np.flatnonzero(score == 0):
            flag_list[row] = [*(flag_list[row] or []), "zero_points"]
        flags = pa.array(flag_list, pa.list_(pa.string()))
    m = table.num_rows
    value = score / total if m else np.zeros(0)
    unscored = np.isnan(score)
    language = table["language"]
    if m and language.null_count:
        language = pc.if_else(pc.is_null(language), splits.detect_language(question_of(table)), language)
    columns = {
        "id": ids,
        "value": pa.array(value, mask=unscored),
        "value_source": two_values(unscored, "score", "none"),
        "score": pa.array(score, mask=unscored),
        "total": pa.array(total, mask=np.isnan(total)),
        "language": language,
        "flags": flags,
    }
    questions = pa.table(
        {f.name: columns[f.name] if f.name in columns else table[f.name] for f in QUESTIONS if f.name != "split"}
    )
    questions = questions.append_column("split", table["split"])
    return questions.append_column("own_exam", table["own_exam"]), shared


def question_of(table: pa.Table) -> pa.Array:
    column = table["question"]
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _short(key: str) -> str:
    text = key.split("\x1f")[0]
    return text if len(text) <= 80 else text[:79] + "…"
