"""Final-answer extraction and checking by question type (shared by `train` and `evaluate`).

Convention (documented in docs/verifier.md): the final answer is the text after the LAST
"the answer is" / "答案是" / "答案为" / "정답은" / "Answer:" in the response, else the content of the last
\\boxed{...}, else the last non-empty line. It is then checked by question type.
"""

from rlev_cli.verify.check import check, check_all
from rlev_cli.verify.extract import extract_final_answer

__all__ = ["check", "check_all", "extract_final_answer"]
