"""Where the final answer is in a response: one convention for `train` and `evaluate` (docs/verifier.md).

An exam answer tag 【答案】 (GAOKAO-Bench's "【答案】C <eoa>") wins: its region ends at an end tag or the
next 【…】 section. Otherwise the final answer is the region after the LAST answer marker of the response:

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

import itertools
import re
from functools import lru_cache

_CHOOSE = r"(?:选|選)(?:择|擇)?(?!\s*(?:项|項))"  # 选 / 选择, never 选项 ("所以选项D是错误的")
_TEXT_MARKERS = re.compile(
    r"(?:the\s+(?:final\s+)?answers?\s+(?:is|are|would\s+be|should\s+be)\s*[:：]?|(?:final\s+)?answers?\s*[:：]"
    r"|答案\s*(?:依次|分别|分別)?\s*(?:是|为|為|应为|應為|应是|選|选)\s*[:：]?|答案\s*[:：]"
    r"|正确(?:的)?(?:选项|選項|答案)\s*(?:是|为|為|应为|應為)\s*[:：]?"
    r"|(?:故|所以|因此|因而|则|應|应|即|本题|本題|应该|應該)\s*(?:本题|本題|应该|應該|应当|應當|应|應)?\s*"
    + _CHOOSE
    + r"\s*[:：]?"
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
    """The tail up to its first sentence end outside math (`$…$`, `\\(…\\)`): '5. Then' -> '5'. A display
    block (`$$…$$`, `\\[…\\]`) at the start, on the marker's line or the next, is taken whole."""
    tail = tail.lstrip(" \t\r\n*")
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
        if line.startswith("\\$", i):  # an escaped dollar (a price) is not math
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
    if "<" in answer:
        answer = _END_TAG.sub(" ", answer)
    answer = answer.replace("**", "").strip()
    return answer.rstrip("。．").rstrip().removesuffix(".").strip() if not answer.endswith("..") else answer


# GAOKAO-Bench's answer tag "【答案】C <eoa>" (exam solutions and models trained on them); it ends at an end
# tag, at the next 【…】 section ("【解析】") or at the end of its line
_EXAM_TAG = re.compile(r"【\s*答案\s*】\s*[:：]?")
_END_TAG = re.compile(r"<\s*/?\s*(?:eoa|eoe|eos|s|\|im_end\||\|endoftext\|)\s*>", re.IGNORECASE)
_TAG_END = re.compile(r"<\s*/?\s*(?:eoa|eoe|eos|s|\|im_end\||\|endoftext\|)\s*>|【", re.IGNORECASE)
_PROSE = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z]{3,}\s+[A-Za-z]{3,}")
_INLINE_MATH = re.compile(r"\$[^$]*\$")
_CONCLUSION = re.compile(r"(?:因此|所以|故|综上所述|综上|即|therefore|thus|hence|so)\s*[,，:：]?\s*", re.IGNORECASE)
MAX_SCAN_CHARS = 20_000  # markers are looked for in the response's last 20,000 characters only


def _tagged(text: str, tag: re.Match[str], *, whole_tail: bool) -> str:
    tail = text[tag.end() :]
    end = _TAG_END.search(tail)
    region = tail[: end.start()] if end else tail
    box = _BOXED.search(region)
    if box is not None and not whole_tail:
        found = _braced(region, box.end())
        if found is not None:
            return _clean(found[0])
    if whole_tail:
        return _clean(region.strip())
    first = _first_sentence(region)
    if _PROSE.search(_INLINE_MATH.sub(" ", first)):  # a worked answer: its conclusion ("因此，$a = 1$") is it
        conclusions = list(_CONCLUSION.finditer(region))
        if conclusions:
            return _clean(_first_sentence(region[conclusions[-1].end() :]))
    return _clean(first)


def _scan_window(text: str) -> str:
    """The part of a response where its final answer can be: a long response's last MAX_SCAN_CHARS."""
    return text if len(text) <= MAX_SCAN_CHARS else text[-MAX_SCAN_CHARS:]


def answer_region(response: str, *, whole_tail: bool = False) -> str:
    """The final-answer region (see the module docstring); `whole_tail` keeps every line after the marker
    (several answer slots listed one per line)."""
    text = _scan_window(response or "")
    if "【" in text:
        tags = list(_EXAM_TAG.finditer(text))
        if tags:
            return _tagged(text, tags[-1], whole_tail=whole_tail)
    markers = _markers(text)
    marker = markers[-1] if markers else None
    if marker is not None and len(markers) > 1 and not text[marker.end() :].strip(" \t\r\n*.:"):
        marker = markers[-2]  # the response was cut right after its last marker ("…\nThe answer is")
    box = _last_box(text)
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
    return _clean(_last_display(text) or last_line(text))


@lru_cache(maxsize=64)  # answer_region, stacked_answers and the slots check read the same response
def _markers(text: str) -> list[re.Match[str]]:
    """Every text marker; a cheap scan first: the full pattern is slow on long reasoning. (Callers only
    read the list: it is shared through the cache.)"""
    first = _MARKER_WORD.search(text)
    if first is None:
        return []
    return list(_TEXT_MARKERS.finditer(text, max(0, first.start() - 24)))


def _last_box(text: str) -> re.Match[str] | None:
    at = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if at == -1:
        return None
    for match in _BOXED.finditer(text, at):
        return match
    boxes = list(_BOXED.finditer(text))  # '\\boxed {' with a space, or a '\\boxed' without a brace last
    return boxes[-1] if boxes else None


def _last_display(text: str) -> str | None:
    """A display block (`\\[ … \\]`, `$$ … $$`) that ends the response over several lines, whole."""
    stripped = text.rstrip()
    for opener, closer in (("\\[", "\\]"), ("$$", "$$")):
        if stripped.endswith(closer) and "\n" in stripped[-2000:]:
            start = stripped.rfind(opener, 0, len(stripped) - len(closer))
            if start != -1 and "\n" in stripped[start:]:
                return stripped[start:]
    return None


_BOX_GAP = 48  # boxes this close, with no sentence end between them, are one list ("\\boxed{2} and \\boxed{3}")
_GAP_BREAK = re.compile(r"[。！？]|[.!?](?:\s|$)|\n\s*\n")


def stacked_answers(response: str) -> list[str]:
    """The regions of the answer statements that end the response back to back, with nothing but their own
    answers between them ("The answer is (B).\\n\\nThe answer is (G)." -> ['(B)', '(G)']): several answers
    offered at once, not a self-correction."""
    text = _scan_window(response or "")
    markers = _markers(text)
    if len(markers) < 2:
        return []
    run = [markers[-1]]
    for previous in reversed(markers[:-1]):
        gap = text[previous.end() : run[0].start()].lstrip(" \t\r\n*")
        if gap[len(_first_sentence(gap)) :].strip(" \t\r\n.。*"):
            break
        run.insert(0, previous)
    return [_clean(_first_sentence(text[m.end() :])) for m in run]


_NUMBERED_LETTER = re.compile(r"^\s*\d{1,3}\s*[.．、:：)）]\s*[(（]?\s*([A-J])\s*[)）]?\s*[.。]?\s*$")


def numbered_letters(response: str) -> list[str]:
    """The option letters of the numbered lines that end the response ("41. B\\n42. C" -> ['B', 'C'])."""
    letters: list[str] = []
    for line in reversed((response or "")[-4000:].rstrip().splitlines()):
        match = _NUMBERED_LETTER.match(line)
        if match is None:
            break
        letters.insert(0, match.group(1))
    return letters


def final_boxes(response: str) -> list[str]:
    """The contents of the run of `\\boxed{}` that ends with the last one, each at most 48 characters from
    the next with no sentence end between ("$\\boxed{2}$ and $\\boxed{3}$" -> ['2', '3']: a list of
    solutions); [] when the response has no box."""
    text = _scan_window(response or "")
    boxes: list[tuple[int, int, str]] = []
    for match in _BOXED.finditer(text):
        found = _braced(text, match.end())
        if found is not None:
            boxes.append((match.start(), found[1], found[0]))
    if not boxes:
        return []
    run = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        gap = text[box[1] : run[0][0]]
        if len(gap) > _BOX_GAP or _GAP_BREAK.search(gap):
            break
        run.insert(0, box)
    return [content for _, _, content in run]


_SUB_QUESTION = re.compile(
    r"(?:^|(?<=[\s。；;:：]))[(（]\s*(?:\d{1,2}|[一二三四五六七八九十])\s*[)）]|[①-⑳]"
    r"|(?:^|(?<=\n))[ \t]*\d{1,3}[ \t]*[.．、](?=[ \t]*(?:【|答案))"  # "41.【答案】B <eoa>" (GAOKAO-Bench)
)


def sub_answers(response: str) -> list[str]:
    """One final answer per sub-question, in order: the response split at its sub-question labels
    ((1), （1）, ①…, "41." before 【答案】), each part that states an answer giving its own answer region
    ("（1）【答案】C … （2）【答案】A" -> ['C', 'A']); without labels, one answer per 【答案】 tag."""
    text = _scan_window(response or "")
    labels = list(_SUB_QUESTION.finditer(text))
    if len(labels) < 2:  # no labels: one 【答案】 tag per sub-question ("【答案】B <eoa>\n【答案】C <eoa>")
        return [_tagged(text, tag, whole_tail=False) for tag in _EXAM_TAG.finditer(text)] if "【" in text else []
    bounds = [m.start() for m in labels] + [len(text)]
    answers = []
    for start, end in itertools.pairwise(bounds):
        part = text[start:end]
        if not (_EXAM_TAG.search(part) or _TEXT_MARKERS.search(part) or _BOXED.search(part)):
            continue  # a label inside a part's reasoning ("by (1) we know"), not a new part
        answers.append(answer_region(part))
    return answers


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
