"""The paper's own data and recipe end to end (#9): a local copy of the RLEV release's layout (train and test,
English and Chinese chat records) -> `rlev ingest` -> `rlev train --recipe paper` -> `rlev evaluate`, with
the release's prompts and splits."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
from typer.testing import CliRunner

from rlev_cli.cli import app
from rlev_cli.prompts import SYSTEM_PROMPT
from tests.conftest import EXAMPLES

runner = CliRunner()
ZH_PROMPT = "你是一个解题助手。请逐步思考，最后输出“Therefore, the answer is”和你的答案。"


def _release_copy(tmp_path):
    """The bundled release layout, with the Chinese files carrying a system prompt of their own."""
    root = tmp_path / "rlev_release"
    shutil.copytree(EXAMPLES / "rlev_release", root)
    for path in (root / "zh").glob("*.json"):
        records = json.loads(path.read_text(encoding="utf-8"))
        for record in records:
            record["query"][0]["content"] = ZH_PROMPT
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return root


def test_release_through_ingest_recipe_paper_and_evaluate(tmp_path, workspace, tiny_model_dir):
    result = runner.invoke(app, ["ingest", str(_release_copy(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["records_in"], summary["questions"], summary["train"], summary["test"]) == (22, 22, 16, 6)
    questions = pq.read_table(workspace / "questions.parquet").to_pylist()
    by_file = {tuple(q["source"].split("#")[0].split("/")[-2:]) for q in questions}
    assert by_file == {("en", "train.json"), ("en", "test.json"), ("zh", "train.json"), ("zh", "test.json")}
    for q in questions:  # released splits kept as released; the Chinese rows keep their own system prompt
        assert q["split"] == ("test" if "test.json" in q["source"] else "train")
        assert q["language"] == ("zh" if "/zh/" in q["source"] else "en")
        assert (q["system_prompt"] == ZH_PROMPT) == (q["language"] == "zh")

    run = workspace / "runs" / "paper"
    args = ["train", "--recipe", "paper", "--rollout-prompts", "2", "--max-steps", "2", "--model", str(tiny_model_dir)]
    args += ["--max-completion-length", "8", "--output", str(run), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert (config["recipe"], config["rollout_prompts"], config["learning_rate"]) == ("paper", 2, 5e-7)
    rollouts = pq.read_table(run / "rollouts.parquet").to_pylist()
    # one rollout of 2 prompts x 4 samples feeds the recipe's 4 optimizer steps (TRL's steps_per_generation)
    assert len(rollouts) == 2 * 4 and {r["step"] for r in rollouts} == {1}
    zh_ids = {q["id"] for q in questions if q["language"] == "zh"}
    question = {q["id"]: q["question"] for q in questions}
    for r in rollouts:  # what the policy saw: the tiny model's ChatML with the release's own system turn
        system = ZH_PROMPT if r["id"] in zh_ids else SYSTEM_PROMPT
        assert r["prompt"] == question[r["id"]]
        assert r["rendered_prompt"] == (
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{r['prompt']}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )

    result = runner.invoke(app, ["evaluate", str(run), "--max-new-tokens", "8", "--json"])
    assert result.exit_code == 0, result.output
    predictions = pq.read_table(run / "eval" / "predictions.parquet").to_pylist()
    test_ids = {q["id"] for q in questions if q["split"] == "test"}
    assert {p["id"] for p in predictions} == test_ids and len(predictions) == 6
    for p in predictions:
        expected = "rlev/row-system-prompt/v1" if p["id"] in zh_ids else "rlev/policy-system-prompt/v1"
        assert p["prompt_format"] == expected
        system = ZH_PROMPT if p["id"] in zh_ids else SYSTEM_PROMPT
        assert p["rendered_prompt"] == (
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question[p['id']]}<|im_end|>\n"
            "<|im_start|>assistant\n"
        )
