"""JEEBench JSON: a flat list of {description, index, subject, type, question, gold}; no points.

Marks come from a --scheme file (by paper and question type) and the paper total from --totals: image
questions were removed upstream, so a total can never be summed from the rows.
"""

from __future__ import annotations

import re
from typing import Any

from rlev_cli.ingest.records import ReadResult, candidate, record_json, reject

JEE_TYPES = {"MCQ": "single_choice", "MCQ(multiple)": "multi_choice", "Integer": "numeric", "Numeric": "numeric"}
_SUBJECTS = {"phy": "physics", "chem": "chemistry", "math": "math"}


def looks_like_jeebench(data: Any) -> bool:
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], dict)
        and {"description", "gold", "type"} <= set(data[0])
    )


def read_jeebench(data: list[Any], source: str) -> ReadResult:
    """A JEEBench list of items (description, type, question, gold): the description names the exam;
    the items carry no points, which come from a --scheme by type label."""
    rows, rejects = [], []
    for position, item in enumerate(data):
        where = f"{source}#[{position}]"
        if not isinstance(item, dict):
            rejects.append(reject(where, f"item is a {type(item).__name__}, not an object", item))
            continue
        missing = [k for k in ("description", "type", "question", "gold") if not isinstance(item.get(k), str)]
        if missing:
            rejects.append(reject(where, f"missing or non-string field(s) {', '.join(missing)}", item))
            continue
        qtype = JEE_TYPES.get(item["type"])
        if qtype is None:
            rejects.append(
                reject(where, f"unknown JEEBench type {item['type']!r} (known: {', '.join(JEE_TYPES)})", item)
            )
            continue
        gold = item["gold"].strip()  # kept as written ("1.00", "ABD"): never cast here
        if qtype == "multi_choice":
            gold = "".join(sorted(gold.upper()))
        exam_id = re.sub(r"\s+", " ", item["description"]).strip()
        rows.append(
            candidate(
                question=item["question"],
                answer=gold,
                exam_id=exam_id,
                exam_id_raw=item["description"],
                subject=_SUBJECTS.get(str(item.get("subject")), item.get("subject")),
                language="en",
                qtype=qtype,
                type_label=item["type"],
                n_slots=1,
                source=where,
                record=record_json(item),
            )
        )
    return ReadResult.from_rows("jeebench", rows, rejects, len(data))
