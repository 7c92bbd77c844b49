"""An interrupted evaluation resumes from the responses it kept, but only those made the same way: the same
prompt, model and sampling settings. Before, the key was the item id and the prompt alone, so a resume with
another run's model, another --max-new-tokens or --temperature reused the first one's responses (exit 0)."""

from __future__ import annotations

import os

import pytest

from rlev_cli.evaluate.benchmarks.base import Item
from rlev_cli.evaluate.config import EvalConfig
from rlev_cli.evaluate.core import Target, generate_all
from rlev_cli.generate import Generation

ITEMS = {
    "indomain": [Item("indomain", f"q{k}", [{"role": "user", "content": f"Question {k}?"}], "A") for k in range(3)]
}


@pytest.fixture
def made(monkeypatch):
    """The prompts each backend built was asked to answer, by the model it was built for."""
    calls: list[tuple[str, int]] = []

    class Backend:
        def __init__(self, model: str) -> None:
            self.model = model

        def generate(self, prompts):
            calls.append((self.model, len(prompts)))
            return [Generation(f"answer of {self.model}", 3, "stop") for _ in prompts]

    monkeypatch.setattr("rlev_cli.generate.make_backend", lambda model, options, *a: Backend(model))
    return calls


def model_folder(path, weights: bytes):
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(weights)
    return path


def test_kept_responses_are_reused_only_when_made_the_same_way(tmp_path, made):
    first, second = model_folder(tmp_path / "m1", b"one"), model_folder(tmp_path / "m2", b"two")
    out = tmp_path / "eval"
    config = EvalConfig(max_new_tokens=8)
    outputs, generated, reused, stale = generate_all(Target("run", str(first), None), ITEMS, config, out)
    assert (generated, reused, stale, made) == (3, 0, 0, [(str(first), 3)])
    assert generate_all(Target("run", str(first), None), ITEMS, config, out)[1:] == (0, 3, 0)  # a plain resume
    # the same label (a run's folder name) with another model: all generated again
    outputs, *counts = generate_all(Target("run", str(second), None), ITEMS, config, out)
    assert counts == [3, 0, 3] and {o["text"] for o in outputs.values()} == {f"answer of {second}"}
    for changed in ({"max_new_tokens": 16}, {"temperature": 1.0}, {"seed": 1}):
        assert generate_all(
            Target("run", str(second), None), ITEMS, EvalConfig(**{"max_new_tokens": 8, **changed}), out
        )[1:] == (3, 0, 3)
    # a model folder rewritten in place (a run extended with a higher --max-steps) is another model
    assert generate_all(Target("run", str(second), None), ITEMS, config, out)[1:] == (3, 0, 3)
    assert generate_all(Target("run", str(second), None), ITEMS, config, out)[1:] == (0, 3, 0)
    weights = second / "model.safetensors"
    weights.write_bytes(b"three")
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000))
    assert generate_all(Target("run", str(second), None), ITEMS, config, out)[1:] == (3, 0, 3)
