"""Where the final answer is in a response."""

from __future__ import annotations

import re

# The policy prompt asks for "Therefore, the answer is ..." (rlev-paper.md, policy prompt).
_MARKERS = re.compile(
    r"(?:the\s+(?:final\s+)?answer\s+is|final\s+answer\s*[:：]|answer\s*[:：]|答案\s*(?:是|为|應為|应为|：|:)|정답은)\s*",
    re.IGNORECASE,
)
_BOXED = re.compile(r"\\boxed\{")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced.

    >>> last_boxed(r"so \\boxed{\\frac{1}{2}} done")
    '\\\\frac{1}{2}'
    """
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    start, depth = starts[-1], 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None


def last_line(text: str | None) -> str:
    """The last non-empty line ("" when there is none)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def extract_final_answer(response: str) -> str:
    """The final answer of a response (may be empty).

    >>> extract_final_answer("Step 1 ... Therefore, the answer is B.")
    'B'
    >>> extract_final_answer("所以答案是 $\\\\frac{3}{10}$。")
    '$\\\\frac{3}{10}$'
    """
    text = response or ""
    matches = list(_MARKERS.finditer(text))
    if matches:
        tail = text[matches[-1].end() :].strip()
        boxed = last_boxed(tail)
        answer = boxed if boxed is not None else tail.split("\n")[0]
    else:
        boxed = last_boxed(text)
        answer = boxed if boxed is not None else last_line(text)
    return answer.strip().rstrip("。.．").strip()
