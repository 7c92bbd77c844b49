"""#17 item 4: the mutants of `rlev_cli.train.recipe` the older tests let live (docs/testing.md)."""

from __future__ import annotations

import pytest

from rlev_cli.errors import RlevError
from rlev_cli.train.recipe import recipe_batch


def test_a_train_batch_must_split_over_processes_times_accumulation():
    # 6 prompts x 4 = 24 completions, a train batch of 6: not a multiple of 2 processes x 2 accumulation steps
    with pytest.raises(RlevError) as error:
        recipe_batch(6, 4, 2, 2)
    assert str(error.value) == (
        "--recipe paper: a train batch of 6 completions (rollout / 4) does not split over "
        "2 process(es) x 2 accumulation step(s); change --rollout-prompts"
    )
    assert recipe_batch(8, 4, 2, 2) == {
        "rollout_completions": 32,
        "train_batch": 8,
        "per_device_train_batch_size": 2,
        "steps_per_generation": 8,
    }
