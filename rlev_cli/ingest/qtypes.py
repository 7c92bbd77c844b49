"""Question types: the source's own labels mapped onto rlev's, or inferred from the answer."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

QTYPE_ALIASES = {
    "mcq": "single_choice",
    "single": "single_choice",
    "multiple": "multi_choice",
    "mcq(multiple)": "multi_choice",
    "integer": "numeric",
    "number": "numeric",
    "fill": "fill_blank",
    "fill_in_blank": "fill_blank",
    "open": "free_form",
    "free": "free_form",
    "open_ended": "free_form",
}


def infer_qtypes(answer: pa.Array) -> pa.Array:
    """Letters -> single/multi choice, a number -> numeric, a short line -> fill_blank, else free_form."""
    text = pc.utf8_trim_whitespace(pc.fill_null(answer, ""))
    single = pc.match_substring_regex(text, r"^[A-J]$")
    multi = pc.match_substring_regex(text, r"^[A-J]{2,10}$")
    numeric = pc.match_substring_regex(text, r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
    short = pc.and_(pc.less_equal(pc.utf8_length(text), 40), pc.invert(pc.match_substring(text, "\n")))
    return pc.case_when(
        pc.make_struct(single, multi, numeric, short),
        "single_choice",
        "multi_choice",
        "numeric",
        "fill_blank",
        "free_form",
    )
