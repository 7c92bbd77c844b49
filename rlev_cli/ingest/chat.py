"""Chat-template prompts (the RLEV release, Multi-subject-RLVR, OpenRLHF files): `query` is a list of
messages, a system turn with the policy prompt and then the user turn with the question.

The question is the user turn and the system turn is kept per row (`system_prompt`), so a model trained
on the release sees the release's own prompt. Only `[user]` and `[system, user]` are single-turn
prompts; any other shape (an assistant turn, several user turns, an unknown role) is refused with the
reason, never flattened into text.
"""

from __future__ import annotations

import json
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROLES = ("system", "user", "assistant")
MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])


def is_message_list(column: pa.Array) -> bool:
    """A list<struct<role, content, ...>> column: messages as JSON, JSONL, Parquet or `datasets` write them."""
    kind = column.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return False
    item = kind.value_type
    return pa.types.is_struct(item) and {"role", "content"} <= {item.field(i).name for i in range(item.num_fields)}


def looks_like_message_text(column: pa.Array) -> np.ndarray:
    """Rows of a string column holding a JSON message list (CSV cells, or a JSON file of mixed prompts)."""
    text = pc.fill_null(column, "")
    has_role = pc.match_substring(text, '"role"')
    if not pc.any(has_role).as_py():  # plain questions: no copy of the column to trim it
        return np.zeros(len(column), dtype=bool)
    mask = pc.and_(pc.starts_with(pc.utf8_ltrim_whitespace(text), "["), has_role)
    return cast(np.ndarray, mask.to_numpy(zero_copy_only=False))


def parse_message_text(column: pa.Array, mask: np.ndarray) -> pa.Array:
    """The rows under `mask` parsed into the message type (null where the text is not a message list)."""
    values: list[list[dict[str, str | None]] | None] = [None] * len(column)
    texts = column.to_pylist()
    for i in np.flatnonzero(mask):
        try:
            parsed = json.loads(texts[i])
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, list) and all(isinstance(m, dict) for m in parsed):
            values[i] = [{"role": _text(m.get("role")), "content": _text(m.get("content"))} for m in parsed]
    return pa.array(values, pa.list_(MESSAGE))


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def split_messages(column: pa.Array, name: str) -> tuple[pa.Array, pa.Array, list[str | None]]:
    """(question, system_prompt, reason per row: None = accepted) of a message-list column.

    Column-wise: the roles are dictionary-encoded once and checked with numpy, so a million prompts
    cost no Python per row; only refused rows build their reason in Python.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(column)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(column)
    roles = pc.utf8_lower(pc.utf8_trim_whitespace(pc.struct_field(flat, "role").cast(pa.string())))
    contents = pc.struct_field(flat, "content")
    if not (pa.types.is_string(contents.type) or pa.types.is_large_string(contents.type)):
        contents = pa.array([_text(v) for v in contents.to_pylist()], pa.string())
    contents = contents.cast(pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(roles, ""))
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    code_of = {role: names.index(role) if role in names else -1 for role in ("system", "user")}
    starts = np.cumsum(lengths) - lengths
    last = np.clip(starts + lengths - 1, 0, max(len(codes) - 1, 0))
    first = np.clip(starts, 0, max(len(codes) - 1, 0))
    has = lengths > 0
    last_is_user = has & (codes[last] == code_of["user"]) if len(codes) else np.zeros(n, bool)
    first_is_system = has & (codes[first] == code_of["system"]) if len(codes) else np.zeros(n, bool)
    ok = last_is_user & ((lengths == 1) | ((lengths == 2) & first_is_system))
    ok &= column.is_valid().to_numpy(zero_copy_only=False)
    question = pc.take(contents, pa.array(last)) if len(codes) else pa.nulls(n, pa.string())
    question = pc.if_else(pa.array(ok), question, pa.scalar(None, pa.string()))
    with_system = ok & (lengths == 2)
    system = pc.take(contents, pa.array(first)) if len(codes) else pa.nulls(n, pa.string())
    system = pc.if_else(pa.array(with_system), system, pa.scalar(None, pa.string()))
    reasons: list[str | None] = [None] * n
    if not ok.all():
        role_list = [names[c] for c in codes]
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(~ok):
            turns = role_list[starts[i] : starts[i] + lengths[i]]
            reasons[i] = _refusal(name, turns, bool(valid[i]))
    return question, system, reasons


def _refusal(name: str, turns: list[str], valid: bool) -> str:
    if not valid or not turns:
        return f"'{name}' is missing or an empty message list"
    unknown = [r for r in turns if r not in ROLES]
    if unknown:
        return (
            f"'{name}' has a message with unknown role '{unknown[0]}' (roles: {', '.join(turns)}); "
            "expected [system, user] or [user]"
        )
    return f"'{name}' is not a single-turn prompt (roles: {', '.join(turns)}); expected [system, user] or [user]"
