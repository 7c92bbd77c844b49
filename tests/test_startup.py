"""`rlev ingest` stays light: no torch, trl, transformers, vllm or sklearn imported."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import EXAMS


def test_ingest_imports_no_heavy_library(tmp_path):
    code = (
        "import sys; from rlev_cli.cli import main\n"
        f"sys.argv = ['rlev', 'ingest', {str(EXAMS)!r}, '-w', {str(tmp_path)!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert done.code in (0, None), done.code\n"
        "print(sorted(m for m in ('torch', 'trl', 'transformers', 'vllm', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
