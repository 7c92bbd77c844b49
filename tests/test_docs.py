"""Docs are part of the product: the command reference matches --help, and the README's commands exist."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_cli_reference_is_generated_from_help():
    result = subprocess.run(
        [sys.executable, str(REPO / "docs" / "gen_cli.py"), "--check"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr


def test_readme_opens_with_the_two_setup_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "examples/quickstart.sh" in first_block and "pytest" in first_block
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q tests" in ci and "python -m pytest -q tests" in first_block
