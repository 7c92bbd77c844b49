"""Where the final answer is in a response: one convention for `train` and `evaluate` (docs/verifier.md).

The final answer is the region after the LAST answer marker of the response:

- a text marker: "the answer is" (the policy prompt's "Therefore, the answer is"), "the final answer is",
  "the answers are", "Answer:" / "Final answer:", "答案是/答案为/答案：/答案选", "故选/所以选/因此选/应选/选"
  ("选" alone only at a clause start and followed by an option letter: not 选项A, not 若选A), or the
  Korean "정답은". The region is the rest of that line, up to the first sentence end ("。", or ". " /
  "; " outside math); a display block (`$$…$$`, `\\[…\\]`) right after the marker is taken whole;
- or `\\boxed{…}`, whose balanced content is the region.

Whichever of the two comes last in the response wins; a `\\boxed{}` inside a marker's region is the
region. With no marker the region is the last non-empty line. Markdown bold (`**`) and a trailing "." /
"。" are removed; nothing else is: signs, brackets and separators are the checker's business.
"""

from __future__ import annotations

import re

_TEXT_MARKERS = re.compile(
    r"(?:the\s+(?:final\s+)?answers?\s+(?:is|are|would\s+be|should\s+be)\s*[:：]?|(?:final\s+)?answers?\s*[:：]"
    r"|答案\s*(?:依次|分别|分別)?\s*(?:是|为|為|应为|應為|应是|選|选)\s*[:：]?|答案\s*[:：]"
    r"|(?:故|所以|因此|因而|则|應|应|即)\s*(?:选|選)(?:择|擇)?\s*[:：]?"
    r"|(?<![^\s，。,.:：;；!！])(?:选|選)\s*[:：]?(?=\s*[(（\[【]?\s*\$?\s*(?:\\text\{|\\mathrm\{)?[A-J](?![A-Za-z]))"
    r"|정답은|정답\s*[:：])\s*",
    re.IGNORECASE,
)
_MARKER_WORD = re.compile(r"answer|答案|选|選|정답", re.IGNORECASE)  # in every text marker
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_SENTENCE_END = re.compile(r"。|．\s|[.;!?](?=\s|$)|；")


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The balanced content of a brace group whose body starts at `start`, and the index after it."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{" and text[i - 1] != "\\":
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...}, braces balanced.

    >>> last_boxed(r"so \\boxed{\\frac{1}{2}} done")
    '\\\\frac{1}{2}'
    """
    for match in reversed(list(_BOXED.finditer(text or ""))):
        found = _braced(text, match.end())
        if found is not None:
            return found[0]
    return None


def last_line(text: str | None) -> str:
    """The last non-empty line ("" when there is none)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _first_sentence(tail: str) -> str:
    """The tail up to its first sentence end outside math (`$…$`, `\\(…\\)`): '5. Then' -> '5'."""
    tail = tail.lstrip()
    for opener, closer in (("$$", "$$"), ("\\[", "\\]")):
        if tail.startswith(opener):
            end = tail.find(closer, len(opener))
            if end != -1:
                return tail[: end + len(closer)]
    line = tail.split("\n", 1)[0]
    if "$" not in line and "\\(" not in line:
        sentence_end = _SENTENCE_END.search(line)
        return line[: sentence_end.start()] if sentence_end else line
    in_math, i = False, 0
    while i < len(line):
        if line.startswith("\\(", i) or line.startswith("\\)", i):
            in_math = line[i + 1] == "("
            i += 2
            continue
        if line[i] == "$":
            in_math = not in_math
        elif not in_math and _SENTENCE_END.match(line, i):
            # a decimal point ('3.5', '.5') is not a sentence end: the pattern needs whitespace after '.'
            return line[:i]
        i += 1
    return line


def _clean(answer: str) -> str:
    answer = answer.replace("**", "").strip()
    return answer.rstrip("。．").rstrip().removesuffix(".").strip() if not answer.endswith("..") else answer


def answer_region(response: str, *, whole_tail: bool = False) -> str:
    """The final-answer region (see the module docstring); `whole_tail` keeps every line after the marker
    (several answer slots listed one per line)."""
    text = response or ""
    first = _MARKER_WORD.search(text)  # a cheap scan first: the full pattern is slow on long reasoning
    markers = list(_TEXT_MARKERS.finditer(text, max(0, first.start() - 24))) if first else []
    marker = markers[-1] if markers else None
    boxes = list(_BOXED.finditer(text))
    box = boxes[-1] if boxes else None
    if box is not None and (marker is None or box.start() >= marker.end()):
        found = _braced(text, box.end())
        if found is not None and (marker is None or not whole_tail):
            return _clean(found[0])
    if marker is not None:
        tail = text[marker.end() :]
        return _clean(tail.strip() if whole_tail else _first_sentence(tail))
    if box is not None:
        found = _braced(text, box.end())
        if found is not None:
            return _clean(found[0])
    return _clean(last_line(text))


def extract_final_answer(response: str) -> str:
    """The final answer of a response (may be empty).

    >>> extract_final_answer("Step 1 ... Therefore, the answer is B.")
    'B'
    >>> extract_final_answer("所以答案是 $\\\\frac{3}{10}$。")
    '$\\\\frac{3}{10}$'
    >>> extract_final_answer("x = 1/2 first. Therefore, the answer is 7.5. Let me check: 15/2 = 7.5")
    '7.5'
    """
    return answer_region(response)
