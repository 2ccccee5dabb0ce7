"""A full disk is the disk's fault: one line saying so and where, and nothing saved is lost.

The disk fills at the operating system's boundary (``os.fsync`` or the writer failing while
the filesystem reports no room), the way it does on a real full disk; by hand, the same runs on
a 1.2 MB tmpfs gave the same messages (see the issue 12 note).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from harness import atomic
from harness.data import cache as data_cache
from harness.errors import DiskFullError, HarnessError, TeamCodeError
from harness.training import runs
from harness.training.trainer import Trainer

Usage = namedtuple("Usage", "total used free")


def no_room(monkeypatch: pytest.MonkeyPatch) -> None:
    """The filesystem reports (almost) no free space."""
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**9, 10**9 - 4096, 4096))


def test_a_writer_that_fails_on_a_full_disk_is_a_disk_full_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "epoch-0002.pt"
    target.write_bytes(b"old")

    def torch_like_writer(handle: object) -> None:
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 210816")

    no_room(monkeypatch)
    with pytest.raises(DiskFullError, match=f"disk full while writing {target}; .*intact"):
        atomic.write_with(target, torch_like_writer)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_writer_that_fails_with_room_left_keeps_its_own_error(tmp_path: Path) -> None:
    def broken(handle: object) -> None:
        raise RuntimeError("a bug, not the disk")

    with pytest.raises(RuntimeError, match="a bug"):
        atomic.write_with(tmp_path / "x", broken)


def test_a_full_image_cache_is_one_line_naming_the_cache(
    tiny_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def short_write(*_: object, **__: object) -> None:
        raise OSError("122880 requested and 4096 written")  # numpy's tofile: no errno

    monkeypatch.setattr(np, "save", short_write)
    no_room(monkeypatch)
    with pytest.raises(
        DiskFullError, match=r"disk full while writing .*train-all-20px.*HARNESS_CACHE"
    ):
        data_cache.cached_split(tiny_data, "train", 20, progress=False)
    leftovers = list(data_cache.cache_root().glob("images/*20px*"))
    assert leftovers == [], "no half-written cache or staging folder is left"


def test_a_checkpoint_on_a_full_disk_is_not_the_teams_fault(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = data_cache.cached_split(tiny_data, "train", 16, progress=False)
    run_dir = runs.new_run_dir(tmp_path / "runs", "tiny")
    runs.write_config(run_dir, {"team": "tiny", "run_id": run_dir.name, "status": "created"})
    request = {
        "team_dir": str(tiny_team),
        "run_dir": str(run_dir),
        "train_cache": str(cache.folder),
        "overrides": {"epochs": 3},
        "trial_params": None,
        "device": "cpu",
        "resume": False,
    }
    real_fsync = os.fsync

    def full_after_first_checkpoint(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if "/checkpoints/.epoch-0002.pt" in name:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_after_first_checkpoint)
    with pytest.raises(DiskFullError) as info:
        Trainer(request).run()
    message = str(info.value)
    assert isinstance(info.value, HarnessError) and not isinstance(info.value, TeamCodeError)
    assert message.startswith(f"disk full while writing {run_dir}/checkpoints/epoch-0002.pt; ")
    assert "the last checkpoint (epoch-0001.pt) is intact" in message
    assert f"--resume {run_dir.name}" in message
    config = runs.read_config(run_dir)
    assert config["status"] == "failed" and config["error"] == "disk full", "not left 'training'"
    assert runs.latest_checkpoint(run_dir).name == "epoch-0001.pt"
    assert not list((run_dir / "checkpoints").glob("*.tmp"))
