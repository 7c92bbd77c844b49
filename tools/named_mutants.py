"""The four mutants issue 17 names, applied one at a time to a copy of the repository, each against the
trainer tests: every one must make at least one test fail (docs/testing.md).

    python tools/named_mutants.py          # prints one line per mutant: killed by <test> / SURVIVED
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINERS = "rlev_cli/train/trainers.py"
TESTS = [
    "tests/train/test_kl_terms.py",
    "tests/train/test_advantages.py",
    "tests/train/test_ungraded.py",
    "tests/train/test_recipe.py",
]
# name -> (original text, mutated text) in rlev_cli/train/trainers.py
MUTANTS = {
    "KL sign flipped (k1 = log pi_ref - log pi_old)": (
        'kl: torch.Tensor = old - output["ref_per_token_logps"]',
        'kl: torch.Tensor = output["ref_per_token_logps"] - old',
    ),
    "KL counted twice (beta left in TRL's loss)": (
        "beta, self.beta = self.beta, 0.0",
        "beta = self.beta",
    ),
    "recipe-mode GRPO KL advantages skipped": (
        'output["advantages"] = self._with_kl(output, output["advantages"], self._local_rewards())',
        'output["advantages"] = output["advantages"]',
    ),
    "--rpp-baseline branch disabled": (
        "if self.rpp_baseline:  # group mean",
        "if False:  # group mean",
    ),
}


def run(name: str, original: str, mutated: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
        for rel in files.split():
            if (REPO / rel).is_file():
                (copy / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / rel, copy / rel)
        source = (copy / TRAINERS).read_text()
        assert source.count(original) == 1, f"{name}: the original text is not in {TRAINERS} once"
        (copy / TRAINERS).write_text(source.replace(original, mutated))
        env = {**os.environ, "PYTHONPATH": str(copy), "OMP_NUM_THREADS": "1"}
        env.setdefault("RLEV_FIXTURES", str(REPO.parent / "shared" / "fixtures"))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
            cwd=copy, env=env, capture_output=True, text=True,
        )  # fmt: skip
        failed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAILED")]
        return f"killed by {failed[0]}" if result.returncode and failed else "SURVIVED"


if __name__ == "__main__":
    for mutant, (before, after) in MUTANTS.items():
        print(f"{mutant}: {run(mutant, before, after)}", flush=True)
