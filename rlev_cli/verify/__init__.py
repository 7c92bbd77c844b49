"""Final-answer extraction and rule checking by question type (shared by `train` and `evaluate`).

The final answer is the exam tag 【答案】's region, else the region after the LAST answer marker
("Therefore, the answer is", `\\boxed{}`, "Answer:", "The final answer is", "答案是/答案为", "故选/选",
"정답은"), else the last non-empty line; docs/verifier.md gives the convention and the table of what
counts as the same answer.
"""

from rlev_cli.verify.check import check, rule_verdicts
from rlev_cli.verify.extract import extract_final_answer, last_boxed, last_line

__all__ = ["check", "extract_final_answer", "last_boxed", "last_line", "rule_verdicts"]
