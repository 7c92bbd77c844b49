"""Write docs/cli.md from the real --help of every command (a test fails when it is stale).

Usage: python docs/gen_cli.py            # rewrite docs/cli.md
       python docs/gen_cli.py --check    # exit 1 if docs/cli.md differs
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from rlev_cli.cli import app

COMMANDS = [[], ["ingest"], ["predict-values"], ["train"], ["evaluate"], ["demo"], ["analyze", "termination"]]
HEADER = (
    "# Command reference\n\nGenerated from `rlev --help` by `python docs/gen_cli.py`; "
    "do not edit by hand. JSON keys of each command's `--json` summary are listed in the guides.\n"
)


def render() -> str:
    runner = CliRunner()
    parts = [HEADER]
    for command in COMMANDS:
        result = runner.invoke(
            app, [*command, "--help"], env={"COLUMNS": "110", "TERM": "dumb"}, terminal_width=110, prog_name="rlev"
        )
        title = "rlev " + " ".join(command) if command else "rlev"
        parts.append(f"\n## `{title.strip()}`\n\n```\n{result.stdout.rstrip()}\n```\n")
    return "".join(parts)


def main() -> int:
    path = Path(__file__).with_name("cli.md")
    text = render()
    if "--check" in sys.argv:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print("docs/cli.md is stale: run python docs/gen_cli.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
