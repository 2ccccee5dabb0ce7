"""Job folders left in the temporary folder by killed harness processes are swept at the next
start, and only those (issue 12, item 9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.sandbox import jobdir
from harness.training.train import validate_team

LEAVE_A_FOLDER = """
import sys, time
from harness.sandbox.jobdir import job_folder
with job_folder() as io:
    print(io.parent, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of our own, so that the sweep never sees other processes' folders."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setattr(jobdir, "_swept", False)
    return tmp


def folder_of_a_killed_harness(tmp: Path) -> Path:
    """Start a process that makes a job folder, then SIGKILL it: the folder stays behind."""
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", LEAVE_A_FOLDER], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert folder.is_dir() and folder.parent == tmp
    return folder


def test_the_next_job_sweeps_folders_whose_harness_was_killed(
    private_tmp: Path, tiny_team: Path
) -> None:
    stale = folder_of_a_killed_harness(private_tmp)
    ours = Path(tempfile.mkdtemp(prefix=f"{jobdir.PREFIX}{os.getpid()}-", dir=private_tmp))
    older_harness = private_tmp / f"{jobdir.PREFIX}abc123xy"  # no owner on record: left alone
    older_harness.mkdir()
    validate_team(tiny_team)
    assert not stale.exists(), "the killed harness's folder was not swept"
    assert ours.exists() and older_harness.exists()
    assert not [p for p in private_tmp.iterdir() if p not in (ours, older_harness)], (
        "the job removed its own folder"
    )


def test_a_reused_process_id_does_not_keep_a_stale_folder(private_tmp: Path) -> None:
    folder = private_tmp / f"{jobdir.PREFIX}{os.getpid()}-reused"
    folder.mkdir()
    (folder / jobdir.OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "start": 1}))
    assert jobdir.owner_alive(folder) is False, "our pid, but another start time"
    assert jobdir.sweep_stale(private_tmp) == [folder]


def test_folders_of_older_harnesses_are_never_taken_for_stale(private_tmp: Path) -> None:
    digits_only = private_tmp / f"{jobdir.PREFIX}12345678"  # mkdtemp may draw only digits
    digits_only.mkdir()
    assert jobdir.owner_alive(digits_only) is None
    assert jobdir.sweep_stale(private_tmp) == [] and digits_only.exists()
