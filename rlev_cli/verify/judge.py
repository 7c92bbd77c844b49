# ruff: noqa: E501  (the judge prompt is quoted verbatim)
"""Optional LLM judge through any OpenAI-compatible endpoint, with the YES/NO protocol of the RLEV
group's verifier (notes/rlev-paper.md §1.1): the judge sees the question, the last non-empty line of the
response and the reference, and answers YES or NO."""

from __future__ import annotations

import time

from rlev_cli.errors import RlevError
from rlev_cli.verify.extract import last_line

JUDGE_PROMPT = """Given a problem, determine whether the final answer in the provided (incomplete) solution process matches the reference answer.
The reference answer may be one single option character (e.g., A, B, C, D), a numerical value, an expression, or a list of answers if multiple questions are involved.
**The reference answer may be in Chinese or another language, but your evaluation should be language-agnostic.**

Your task:
- Compare the final output of the solution process with the reference answer.
- If they **match exactly**, output **YES**.
- If they **do not match**, output **NO**.
- If the solution process is unclear, incomplete, or ambiguous, assume it is incorrect and output **NO**.

Your output must be strictly **'YES'** or **'NO'**, with no additional words, punctuation, or explanation.

---

**Question:**
{question}

**Solution Process (Final Step Only):**
{response}

**Reference Answer:**
{reference}

**Output:**
"""


class LLMJudge:
    """YES -> 1.0, NO -> 0.0; retried on transport errors, then a clear error."""

    def __init__(
        self, base_url: str, model: str, api_key: str = "EMPTY", timeout_s: float = 60.0, retries: int = 3
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.retries = retries

    def __call__(self, question: str, response: str, reference: str) -> float:
        import httpx

        payload = {
            "model": self.model,
            "temperature": 0.0,
            "max_tokens": 2,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {
                    "role": "user",
                    "content": JUDGE_PROMPT.format(
                        question=question, response=last_line(response), reference=reference
                    ),
                },
            ],
        }
        error: Exception | None = None
        for attempt in range(self.retries):
            try:
                reply = httpx.post(
                    f"{self.base_url}/chat/completions",
                    json=payload,
                    timeout=self.timeout_s,
                    headers={"Authorization": f"Bearer {self.api_key}"},
                )
                reply.raise_for_status()
                text = reply.json()["choices"][0]["message"]["content"] or ""
                return 1.0 if text.strip().upper().startswith("YES") else 0.0
            except (httpx.HTTPError, KeyError, ValueError) as err:
                error = err
                time.sleep(min(2**attempt, 4) * 0.25)
        raise RlevError(f"judge {self.base_url} ({self.model}) did not answer after {self.retries} tries: {error}")
