"""The policy prompt, shared by `train` and `evaluate` (an in-domain item is prompted as in training)."""

from __future__ import annotations

SYSTEM_PROMPT = (
    "You are a chatbot who can solve problems. Please solve the following problem and give your thought "
    'process. Before giving the final result, you should output "Therefore, the answer is", and then give '
    "your final answer."
)


def policy_messages(question: str, system_prompt: str | None = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages for one question: the system turn (when there is one), then the user turn.

    >>> [m["role"] for m in policy_messages("1+1?")]
    ['system', 'user']
    """
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": question}]
