"""Leaderboard rows from jobs on many machines: one file per row, merged by one process.

Jobs on different cluster nodes cannot share ``results.csv`` safely: ``flock`` does not hold
across NFS, and two nodes replacing the file at once would lose a row. So a job never touches
the CSV. It writes its row, atomically, to a file of its own in the spool folder beside the
board (``results.csv.spool/<row_id>.json``); the process that waits for the jobs merges the
spool into the CSV through the board's ordinary append path.

Why no row is lost or doubled:

- a row file appears whole or not at all (temporary file + rename), and its name is the row's
  id, unique per job of a submission (a requeued job rewrites the same file);
- a merger first *claims* each file by renaming it into ``merging/`` under its own token;
  a rename succeeds for one claimer only, also on NFS, so two mergers never take one row;
- a row whose ``row_id`` is already on the board is dropped, so a merger killed between the
  append and the clean-up appends nothing twice when the next merge finds its claimed files
  (claims older than :data:`STALE_CLAIM_S` are taken over).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from harness import atomic
from harness.board import leaderboard

ROW_ID = "row_id"
SPOOL_SUFFIX = ".spool"
CLAIMED = "merging"
STALE_CLAIM_S = 600.0
SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
SAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def make_row_id(submission: str, index: int, team: str) -> str:
    """The id of a job's row: its submission, its place in it and its team, file-safe."""
    return SAFE_ID_CHARS.sub("_", f"{submission}-{index:04d}-{team}")


def spool_dir(board_path: Path) -> Path:
    """The spool folder of a results CSV: ``<name>.spool`` beside it."""
    board_path = Path(board_path)
    return board_path.with_name(board_path.name + SPOOL_SUFFIX)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return str(value)


def spool_row(row: dict[str, Any], spool: Path) -> Path:
    """Write one row to its own file in ``spool`` (atomically); the row needs a ``row_id``."""
    row_id = str(row.get(ROW_ID) or "")
    if not SAFE_ID.fullmatch(row_id):
        raise ValueError(f"a spooled row needs a row_id of [A-Za-z0-9_-], got {row_id!r}")
    path = Path(spool) / f"{row_id}.json"
    atomic.write_text(path, json.dumps(row, default=_plain))
    return path


def _claim(path: Path, folder: Path, token: str) -> Path | None:
    """Rename ``path`` into ``folder`` under ``token``; None when another merger was first."""
    row_id = path.name.split(".", 1)[0]
    target = folder / f"{row_id}.{token}.json"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        os.utime(target)  # the claim's age, not the row's, decides when it is stale
    return target


def pending_rows(spool: Path) -> int:
    """Rows waiting in ``spool`` (claimed ones included)."""
    spool = Path(spool)
    if not spool.is_dir():
        return 0
    return len(list(spool.glob("*.json"))) + len(list((spool / CLAIMED).glob("*.json")))


def merge_spool(spool: Path, board_path: Path) -> list[dict[str, Any]]:
    """Append the spooled rows that are not on the board yet; returns the rows appended.

    Safe to call from several processes at once and again after a crash; see the module
    docstring. Rows are appended in the order of their ids (a submission numbers its jobs).
    """
    spool = Path(spool)
    if not spool.is_dir():
        return []
    claimed_dir = spool / CLAIMED
    claimed_dir.mkdir(exist_ok=True)
    token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    claimed = [c for p in sorted(spool.glob("*.json")) if (c := _claim(p, claimed_dir, token))]
    now = time.time()
    for leftover in sorted(claimed_dir.glob("*.json")):
        if token in leftover.name:
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - leftover.stat().st_mtime > STALE_CLAIM_S:
                taken = _claim(leftover, claimed_dir, token)
                if taken is not None:
                    claimed.append(taken)
    if not claimed:
        return []
    rows: dict[str, dict[str, Any]] = {}
    for path in sorted(claimed):
        row = json.loads(path.read_text())
        rows[str(row[ROW_ID])] = row
    table = leaderboard.read(board_path)
    on_board = set(table[ROW_ID].dropna().astype(str)) if ROW_ID in table.columns else set()
    new = [row for row_id, row in sorted(rows.items()) if row_id not in on_board]
    if new:
        leaderboard.append_rows(new, board_path)
    for path in claimed:
        path.unlink(missing_ok=True)
    return new
