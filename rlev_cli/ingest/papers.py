"""Paper identity and known totals for GAOKAO-Bench style data (see docs/ingest.md, "Exam identity").

One real paper must be one exam_id whatever the spelling: `（新课标ⅰ）`, `新课标 I `, `新课标I` and
`新课标Ⅰ卷` are the same paper; `Math_I` (science track) and `Math_II` (liberal arts) are not.
"""

from __future__ import annotations

import re
import unicodedata

# Spellings of the same paper, after canonical_paper_text().
PAPER_ALIASES = {
    "甲卷": "全国甲卷",
    "乙卷": "全国乙卷",
    "丙卷": "全国丙卷",
    "新课标卷": "新课标",
    "新课标i卷": "新课标i",
    "新课标ii卷": "新课标ii",
    "新课标iii卷": "新课标iii",
    "全国新高考i卷": "新课标i",
    "全国新高考ii卷": "新课标ii",
    "新高考i卷": "新课标i",
    "新高考ii卷": "新课标ii",
    "全国i卷": "新课标i",
    "全国ii卷": "新课标ii",
    "全国iii卷": "新课标iii",
    "全国卷i": "新课标i",
    "全国卷ii": "新课标ii",
    "全国卷iii": "新课标iii",
}

# Labels that are not a paper name (kept, but flagged as suspect).
NON_PAPER_LABELS = {"解析版", "原卷版", "含答案", "word版"}

# A paper name at the end of a leaked text ("…故选: C\n全国甲卷文科").
_TRAILING_PAPER = re.compile(
    r"((?:全国|新课标|新高考|北京|天津|上海|重庆|浙江|江苏|山东|海南|湖南|湖北|广东|福建|河北|辽宁)"
    r"[^\s$，。,.:：;；]{0,8}?(?:卷|[文理]科|新课标[i]*))$"
)
_TRACK = re.compile(r"(文科|理科)$")

# Subject (from the file name) -> (paper family, total). The old national papers combine physics,
# chemistry and biology into 理科综合 (300) and history, politics and geography into 文科综合 (300):
# GAOKAO-Bench's own merge_OBJ_SUB_score.py uses these totals. A 文综 history MCQ is 4/300.
SUBJECT_PAPERS = {
    "math": ("数学", 150.0),
    "chinese": ("语文", 150.0),
    "english": ("英语", 150.0),
    "physics": ("理综", 300.0),
    "chemistry": ("理综", 300.0),
    "biology": ("理综", 300.0),
    "history": ("文综", 300.0),
    "politics": ("文综", 300.0),
    "geography": ("文综", 300.0),
}
# New-gaokao (3+1+2) papers examine each elective subject alone, out of 100.
NEW_GAOKAO_SUBJECT_TOTAL = 100.0

_FILE_SUBJECTS = (
    ("math_ii", "math", "文"),
    ("math_i", "math", "理"),
    ("math", "math", None),
    ("chinese", "chinese", None),
    ("english", "english", None),
    ("physics", "physics", None),
    ("chemistry", "chemistry", None),
    ("biology", "biology", None),
    ("history", "history", None),
    ("political", "politics", None),
    ("politics", "politics", None),
    ("geography", "geography", None),
)


def subject_from_filename(stem: str) -> tuple[str | None, str | None]:
    """`2010-2022_Math_I_MCQs` -> ("math", "理"); `2024_Math_MCQs` -> ("math", None)."""
    words = re.sub(r"^[\d-]+_", "", stem).lower()
    for key, subject, track in _FILE_SUBJECTS:
        if re.search(rf"(^|_){key}(_|$)", words):
            return subject, track
    return None, None


def canonical_paper_text(raw: str) -> str:
    """NFKC, no whitespace at all, casefold, no surrounding brackets.

    >>> canonical_paper_text("（新课标ⅰ）"), canonical_paper_text("新课标 I "), canonical_paper_text("新课标Ⅰ卷")
    ('新课标i', '新课标i', '新课标i卷')
    """
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).casefold()
    while len(text) >= 2 and text[0] in "([【" and text[-1] in ")]】":
        text = text[1:-1]
    return text


def normalize_paper(raw: str) -> tuple[str | None, str | None, list[str]]:
    """Return (paper, track, flags) for a GAOKAO `category`; paper None when no paper name is found.

    Leaked solution text keeps only a trailing paper name; a bare non-paper label (`解析版`) is kept
    and flagged `exam_id_suspect`.
    """
    flags: list[str] = []
    text = canonical_paper_text(raw)
    if len(text) > 12 or re.search(r"[$\\{}=:：,，。;；]", text) or "\n" in raw:
        match = _TRAILING_PAPER.search(text)
        if not match:
            return None, None, ["exam_id_suspect"]
        text = match.group(1)
        flags.append("exam_id_recovered")
    track = None
    track_match = _TRACK.search(text)
    if track_match and len(text) > 2:
        track = track_match.group(1)[0]
        text = text[: track_match.start()]
    text = PAPER_ALIASES.get(text, text)
    if not text:  # an empty or blank category (or one that is only a track): no paper to name the exam by
        return None, None, flags
    if text in NON_PAPER_LABELS:
        flags.append("exam_id_suspect")
    return text, track, flags


def gaokao_exam(year: str, category: str, file_stem: str) -> tuple[str | None, float | None, str | None, list[str]]:
    """Return (exam_id, known total, subject, flags) for one GAOKAO item."""
    subject, file_track = subject_from_filename(file_stem)
    paper, category_track, flags = normalize_paper(category)
    if paper is None:
        return None, None, subject, flags
    if subject is None:
        return f"gaokao-{year}-{paper}", None, None, [*flags, "subject_unknown"]
    family, total = SUBJECT_PAPERS[subject]
    if "新高考" in paper and family in ("理综", "文综"):
        family, total = subject, NEW_GAOKAO_SUBJECT_TOTAL
    track = file_track or category_track
    if family == "数学" and track:
        family = f"数学{track}"
    return f"gaokao-{year}-{paper}-{family}", total, subject, flags
