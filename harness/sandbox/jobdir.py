"""Each job's own temporary folder, and the sweep of folders left by harness processes that died.

A job's request and result files live in ``<tmp>/harness-child-<pid>-XXXX/io``; the folder is
removed when the job ends. A harness killed with SIGKILL cannot remove it, so every harness
process, before its first job, removes the folders whose owner is gone. The owner is named by
process id and start time (``owner.json`` beside ``io``, out of the job's reach), so that a
reused process id never makes a live harness's folder look stale, and folders of other live
harness processes are left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PREFIX = "harness-child-"
OWNER_FILE = "owner.json"
IO_FOLDER = "io"

_swept = False


def process_start_ticks(pid: int) -> int | None:
    """When a process started (clock ticks since boot, from ``/proc``), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def owner_alive(folder: Path) -> bool | None:
    """Whether the harness process that made ``folder`` still runs (None: cannot tell)."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
        pid, start = int(owner["pid"]), owner.get("start")
    except (OSError, ValueError, KeyError, TypeError):
        parts = folder.name[len(PREFIX) :].split("-", 1)
        if len(parts) != 2 or not parts[0].isdigit():
            return None  # a folder from an older harness (no "-<pid>-"): no owner on record
        pid, start = int(parts[0]), None
    now = process_start_ticks(pid)
    return now is not None and (start is None or now == start)


def sweep_stale(tmp: Path | None = None) -> list[Path]:
    """Remove job folders of harness processes that are gone; return what was removed."""
    tmp = Path(tmp or tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for folder in tmp.glob(f"{PREFIX}*"):
            if folder.is_dir() and not folder.is_symlink() and owner_alive(folder) is False:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def job_folder() -> Iterator[Path]:
    """A fresh folder for one job's files (``io`` inside it), removed afterwards.

    The first call in a process sweeps the folders that killed harness processes left behind.
    """
    global _swept
    if not _swept:
        _swept = True
        sweep_stale()
    pid = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-"))
    try:
        (folder / OWNER_FILE).write_text(
            json.dumps({"pid": pid, "start": process_start_ticks(pid)})
        )
        io = folder / IO_FOLDER
        io.mkdir()
        yield io
    finally:
        shutil.rmtree(folder, ignore_errors=True)
