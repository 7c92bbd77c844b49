"""`rlev train ARGS` that SIGKILLs itself right after checkpoint N is written: a real kill (nothing flushed,
nothing cleaned up) at a known step. Graded like the `fixed_correctness` fixture (per prompt and rollout:
correct, correct, wrong, wrong), so rewards and advantages are not 0 and the weights move.

    python -m tests.train.killed_run N train ARGS...
"""

from __future__ import annotations

import os
import signal
import sys

from rlev_cli.verify.grade import Grader, Verdict

_seen: dict[str, int] = {}


def _grade(self, questions, responses, references, qtypes):
    verdicts = []
    for reference in references:
        _seen[reference] = _seen.get(reference, 0) + 1
        verdicts.append(Verdict((_seen[reference] - 1) % 4 < 2, "rule"))
    return verdicts


def main() -> None:
    from rlev_cli.cli import app
    from rlev_cli.train.logs import RunLogCallback

    kill_at = int(sys.argv[1])

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    Grader.grade = _grade
    RunLogCallback.on_save = on_save
    app(sys.argv[2:])


if __name__ == "__main__":
    main()
