"""#11: a bad input never replaces a good table; outputs are written as a set; messages keep their remedy."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import EXAMS
from tests.ingest.cli import outputs, rlev_ingest

GOOD = EXAMS / "ksat_ai_benchmark"  # 46 questions, 4 exams


@pytest.fixture
def good_workspace(workspace):
    run = rlev_ingest(GOOD, "-w", workspace)
    assert run.exit_code == 0, run.stderr
    return workspace


def _unchanged(workspace, before: dict[str, bytes]) -> None:
    assert {name: (workspace / name).read_bytes() for name in before} == before


def _snapshot(workspace) -> dict[str, bytes]:
    return {name: (workspace / name).read_bytes() for name in ("questions.parquet", "rejects.parquet", "manifest.json")}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.json", b"", "empty file"),
        (
            "cut.json",
            b'[{"query": "1+1", "label": "2", "sco',
            "malformed JSON at line 1 column 33: Unterminated string starting at",
        ),
        ("blob.json", b"\x00\x01\x02garbage", "binary file (NUL bytes), not text"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (NUL bytes), not text"),
        ("cut.jsonl", b'{"query": "1+1", "label": "2", "score": 1, "total": 10}\n{"query": "2', None),
        (
            "scores.csv",
            b"question,answer\n1+1=?,2\n",
            "no score column found (columns: question, answer); pass --map score=COLUMN",
        ),
    ],
)
def test_unreadable_file_is_an_error_naming_it_and_keeps_the_table(good_workspace, tmp_path, name, content, reason):
    before = _snapshot(good_workspace)
    bad = tmp_path / name
    bad.write_bytes(content)
    run = rlev_ingest(bad, "-w", good_workspace)
    if reason is None:  # a truncated last JSONL line is one refused record inside a readable file
        assert run.exit_code == 0
        questions, rejects, _ = outputs(good_workspace)
        assert len(questions) == 1 and [r["source"] for r in rejects] == ["cut.jsonl:2"]
        return
    assert run.exit_code == 1
    assert run.error.startswith(f"Error: 1 file(s) cannot be read: {name}: {reason}")
    assert run.error.endswith(
        "(nothing was written; fix or remove it, or pass --skip-unreadable to ingest the other files)"
    )
    _unchanged(good_workspace, before)


def test_skip_unreadable_ingests_the_others_with_one_reject_per_file(workspace, tmp_path):
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "blob.json").write_bytes(b"\x00\x01")
    (tmp_path / "ok.jsonl").write_text('{"query": "1+1=?", "label": "2", "score": 2, "total": 10}\n')
    # saved by a Windows editor as "Unicode" without its BOM: named as such, not "binary"
    (tmp_path / "u16.jsonl").write_bytes(
        '{"query": "2+2=?", "label": "4", "score": 2, "total": 10}\n'.encode("utf-16-le")
    )
    run = rlev_ingest(tmp_path, "--skip-unreadable", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    assert len(questions) == 1
    assert sorted((r["source"], r["reason"]) for r in rejects) == [
        ("blob.json", "binary file (NUL bytes), not text"),
        ("empty.json", "empty file"),
        ("u16.jsonl", "UTF-16 (little-endian) text without a byte-order mark; save it as UTF-8"),
    ]
    assert manifest["counts"] == {"records_in": 4, "questions": 1, "rejects": 3, "exams": 1, "train": 1, "test": 0} | {
        k: manifest["counts"][k]
        for k in manifest["counts"]
        if k not in ("records_in", "questions", "rejects", "exams", "train", "test")
    }


def test_a_broken_link_or_a_fifo_in_a_folder_is_reported_not_passed_over(good_workspace, tmp_path):
    """They were skipped silently (not in the manifest, no warning); a FIFO must not be opened (it blocks)."""
    before = _snapshot(good_workspace)
    exams = tmp_path / "exams"
    exams.mkdir()
    (exams / "ok.jsonl").write_text('{"query": "1+1=?", "label": "2", "score": 2, "total": 10}\n')
    (exams / "gone.json").symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(exams / "pipe.json")
    run = rlev_ingest(exams, "-w", good_workspace)
    assert run.exit_code == 1
    assert run.error == (
        f"Error: 2 file(s) cannot be read: exams/gone.json: a broken link (to {tmp_path / 'nowhere.json'}); "
        "exams/pipe.json: not a regular file (a FIFO, socket or device) (nothing was written; fix or remove them, "
        "or pass --skip-unreadable to ingest the other files)"
    )
    _unchanged(good_workspace, before)
    run = rlev_ingest(exams, "--skip-unreadable", "-w", good_workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(good_workspace)
    assert len(questions) == 1 and len(rejects) == 2
    assert [(i["path"], i["bytes"], i["format"]) for i in manifest["inputs"]] == [
        ("exams/gone.json", None, "unreadable"),
        ("exams/ok.jsonl", 58, "rlev"),
        ("exams/pipe.json", None, "unreadable"),
    ]


def test_mistyped_map_column_and_unknown_map_key_are_both_errors(good_workspace, tmp_path):
    before = _snapshot(good_workspace)
    path = tmp_path / "t.csv"
    path.write_text("question,answer,points,total\n1+1=?,2,3,10\n")
    run = rlev_ingest(path, "--map", "score=point", "-w", good_workspace)
    assert run.exit_code == 1
    assert (
        run.error == "Error: --map score=point: t.csv has no column 'point' (columns: question, answer, points, total)"
    )
    run = rlev_ingest(path, "--map", "points=score", "-w", good_workspace, "--skip-unreadable")
    assert run.exit_code == 1
    assert run.error.startswith("Error: --map points=…: unknown key; use one of question, answer, score")
    run = rlev_ingest(path, "--map", "score=point", "-w", good_workspace, "--skip-unreadable")
    assert run.exit_code == 1  # a typo in a flag is never skipped as an unreadable file
    _unchanged(good_workspace, before)


def test_zero_questions_never_replace_a_table(good_workspace, tmp_path):
    before = _snapshot(good_workspace)
    path = tmp_path / "nothing.jsonl"
    path.write_text(
        '{"query": "a", "label": "1", "score": "3 marks", "total": 10}\n'
        '{"query": "", "label": "1", "score": 1, "total": 10}\n'
    )
    run = rlev_ingest(path, "-w", good_workspace)
    assert run.exit_code == 1
    assert run.error == (
        "Error: no questions: all 2 record(s) were rejected (most often: 'score': '3 marks' is not a number, 1x); "
        f"nothing was written, {good_workspace / 'questions.parquet'} (if any) is unchanged"
    )
    _unchanged(good_workspace, before)


def test_jeebench_without_scheme_is_an_error_not_an_empty_table(good_workspace):
    before = _snapshot(good_workspace)
    run = rlev_ingest(EXAMS / "jeebench", "-w", good_workspace)
    assert run.exit_code == 1
    assert run.error.startswith(
        "Error: no questions: all 30 record(s) were rejected (most often: no points in the record; pass --scheme FILE"
    )
    _unchanged(good_workspace, before)


def test_strict_still_fails_on_any_reject(good_workspace, tmp_path):
    before = _snapshot(good_workspace)
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"query": "a", "label": "1", "score": 1, "total": 10}\n'
        '{"query": "b", "label": "1", "score": "x", "total": 10}\n'
    )
    run = rlev_ingest(path, "--strict", "-w", good_workspace)
    assert run.exit_code == 1
    assert run.error == (
        "Error: 1 record(s) rejected under --strict, first: p.jsonl:2: 'score': 'x' is not a number "
        "(run without --strict to get rejects.parquet)"
    )
    _unchanged(good_workspace, before)


def test_a_failure_after_the_first_file_leaves_the_previous_set(good_workspace, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    before = _snapshot(good_workspace)
    real_write = pq.write_table
    calls = []

    def fail_after_first(*args, **kwargs):
        calls.append(args[1])
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fail_after_first)
    path = tmp_path / "p.jsonl"
    path.write_text('{"query": "a", "label": "1", "score": 1, "total": 10}\n')
    run = rlev_ingest(path, "-w", good_workspace)
    assert run.exit_code == 1 and len(calls) == 2
    assert run.error == (
        f"Error: {good_workspace}: writing rejects.parquet failed (No space left on device); nothing was replaced, "
        "the previous questions.parquet, rejects.parquet, manifest.json (if any) are unchanged"
    )
    _unchanged(good_workspace, before)
    assert sorted(p.name for p in good_workspace.iterdir()) == [
        ".rlev.lock",
        "manifest.json",
        "questions.parquet",
        "rejects.parquet",
    ]


def test_outputs_get_the_umask_permissions(workspace, monkeypatch):
    old = os.umask(0o022)
    try:
        run = rlev_ingest(GOOD, "-w", workspace)
    finally:
        os.umask(old)
    assert run.exit_code == 0
    for name in ("questions.parquet", "rejects.parquet", "manifest.json"):
        assert stat.S_IMODE((workspace / name).stat().st_mode) == 0o644


def test_reject_reasons_are_whole_and_keep_column_names(workspace, tmp_path):
    long_reason_exam = "E" * 90
    rows = [
        {"query": "a", "label": "1", "score": "3分", "total": 10, "exam_id": "x"},
        {"query": "b", "label": "1", "score": 1, "exam_id": long_reason_exam},
        {"query": "c", "label": "1", "score": 12, "total": 10, "exam_id": "x"},
        {"query": "d", "label": "1", "score": 1, "total": 10, "exam_id": "x"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    run = rlev_ingest(path, "-w", workspace)
    assert run.exit_code == 0
    _, _, manifest = outputs(workspace)
    assert manifest["reject_reasons"] == {
        "'score': '3分' is not a number": 1,
        f"exam '{long_reason_exam}' has no total: pass --totals FILE or --total N "
        "(or --total-from-sum if the paper is complete)": 1,
        "points … exceed the exam total …": 1,
    }
    assert {r["reason"]: r["count"] for r in run.summary()["reject_reasons"]} == manifest["reject_reasons"]


@pytest.fixture
def small_filesystem(tmp_path):
    """A 256 KiB tmpfs (needs the right to mount, as root in a container has; skipped elsewhere)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_leaves_the_previous_set(small_filesystem, tmp_path):
    import random

    workspace = small_filesystem / "ws"
    assert rlev_ingest(GOOD, "-w", workspace).exit_code == 0
    before = _snapshot(workspace)
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    big = tmp_path / "big.jsonl"  # ~1 MB of incompressible questions: cannot fit in what is left
    big.write_text(
        "".join(
            json.dumps(
                {"query": "".join(rng.choice(letters) for _ in range(200)), "label": "A", "score": 1, "total": 10}
            )
            + "\n"
            for _ in range(5000)
        )
    )
    run = rlev_ingest(big, "-w", workspace)
    assert run.exit_code == 1
    assert run.error.startswith(f"Error: {workspace}: writing questions.parquet failed (")
    assert run.error.endswith(
        "nothing was replaced, the previous questions.parquet, rejects.parquet, manifest.json (if any) are unchanged"
    )
    _unchanged(workspace, before)
    assert sorted(p.name for p in workspace.iterdir()) == [
        ".rlev.lock",
        "manifest.json",
        "questions.parquet",
        "rejects.parquet",
    ]


def test_an_interrupted_ingest_says_what_is_true(good_workspace, monkeypatch, tmp_path):
    """#18: Ctrl-C offered `--resume`, which ingest does not have. Nothing is replaced until the very end."""
    from typer.testing import CliRunner

    import rlev_cli.ingest.splits as splits
    from rlev_cli.cli import app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(splits, "split_questions", interrupted)
    before = _snapshot(good_workspace)
    result = CliRunner().invoke(app, ["ingest", str(EXAMS / "jeebench"), "-w", str(good_workspace)])
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: interrupted; nothing was replaced, the previous outputs (if any) are unchanged"
    )
    _unchanged(good_workspace, before)
    assert (good_workspace / ".rlev.lock").read_text() == ""  # released


def test_a_file_given_twice_is_read_once_with_a_warning(workspace, tmp_path):
    """It was read twice and every record of the second reading rejected as a duplicate of the first."""
    exams = tmp_path / "exams"
    exams.mkdir()
    (exams / "ok.jsonl").write_text('{"query": "1+1=?", "label": "2", "score": 2, "total": 10}\n')
    run = rlev_ingest(exams / "ok.jsonl", exams, exams / "ok.jsonl", "-w", workspace)
    assert run.exit_code == 0, run.stderr
    questions, rejects, manifest = outputs(workspace)
    assert (len(questions), rejects, [i["path"] for i in manifest["inputs"]]) == (1, [], ["exams/ok.jsonl"])
    assert (
        "Warning: 2 file(s) reached more than once (named twice, or linked twice) were read once: "
        "exams/ok.jsonl, exams/ok.jsonl"
    ) in run.stderr


def test_a_pipe_named_on_the_command_line_is_read(workspace, tmp_path):
    """`rlev ingest <(curl …)`: the shell passes a pipe (/dev/fd/63); only a FIFO found in a folder is refused."""
    import threading

    pipe = tmp_path / "stream.jsonl"
    os.mkfifo(pipe)

    def feed() -> None:
        with pipe.open("w") as handle:
            handle.write('{"query": "1+1=?", "label": "2", "score": 2, "total": 10}\n')

    writer = threading.Thread(target=feed, daemon=True)  # a refused pipe leaves it waiting for a reader
    writer.start()
    run = rlev_ingest(pipe, "-w", workspace)
    writer.join(timeout=10)
    assert run.exit_code == 0, run.stderr
    questions, rejects, _ = outputs(workspace)
    assert (len(questions), rejects) == (1, [])
