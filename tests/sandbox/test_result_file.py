"""The files a job leaves are hostile input: the parent reads its result without following a
link, only from a regular file of bounded size, and keeps the reason to one line; the worker
writes its result before its log, and its log never through a link or a relative path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.sandbox import runner
from harness.sandbox.runner import _read_result, one_line


def test_a_result_is_read_only_from_a_plain_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"status": "ok", "payload": {"secret": 1}}))
    link = tmp_path / "result.json"
    link.symlink_to(secret)
    assert _read_result(link) is None
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert _read_result(fifo) is None  # opened non-blocking: no writer, no hang
    assert _read_result(tmp_path / "absent.json") is None
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{")
    assert _read_result(binary) == {
        "status": "error",
        "error": "the job's result file is unreadable",
    }
    monkeypatch.setattr(runner, "MAX_RESULT_BYTES", 64)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"status": "error", "error": "x" * 100}))
    assert "far too large" in _read_result(big)["error"]


def test_a_reason_is_one_printable_bounded_line() -> None:
    assert one_line("first\nsecond\r\nthird\tfourth") == "first second third fourth"
    assert one_line("bell\x07 and \x1b[31mred") == "bell? and ?[31mred"
    long = one_line("x" * 10_000)
    assert len(long) == runner.MAX_REASON_CHARS and long.endswith("...")


def run_worker(request: Path, cwd: Path) -> int:
    """The worker as the harness starts it (a process of its own: it sets signal handlers)."""
    job = [sys.executable, "-m", "harness.entry.worker", "validate", str(request)]
    return subprocess.run(job, cwd=cwd, capture_output=True, timeout=120).returncode


def test_the_worker_writes_its_result_first_and_never_logs_through_a_link(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "error.log").symlink_to(target)
    result = tmp_path / "result.json"
    request = tmp_path / "request.json"
    team = tmp_path / "team"
    team.mkdir()
    (team / "model.py").write_text("raise SystemExit(3)\n")
    request.write_text(
        json.dumps(
            {
                "result_path": str(result),
                "team_dir": str(team),
                "log_path": str(run / "error.log"),
            }
        )
    )
    assert run_worker(request, tmp_path) == 1
    reported = json.loads(result.read_text())
    assert reported["status"] == "error" and "SystemExit" in reported["error"]
    assert target.read_text() == "untouched\n"  # the planted link was not followed
    relative = {"result_path": str(result), "team_dir": str(team), "log_path": "runs/error.log"}
    request.write_text(json.dumps(relative))
    assert run_worker(request, tmp_path) == 1
    assert json.loads(result.read_text())["status"] == "error"
    assert not (tmp_path / "runs").exists()  # a relative log path is never used
