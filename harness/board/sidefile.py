"""Rows that could not join the board are kept beside it, never dropped.

A scored row costs minutes of sampling and Inception time. When the append fails (the board
file breaks its schema, is empty of a header, read-only or immutable, or the disk is full)
the row goes to a side file next to the board, ``results.unsaved-<time>-<team>.csv`` with the
board's columns, so it can be added once the board is fixed; the message says where, and the
round goes on to the next team.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness import atomic
from harness.board.leaderboard import COLUMNS, append_rows
from harness.errors import HarnessError


def side_path(board: Path, team: str, folder: Path | None = None) -> Path:
    """Where a row of ``team`` that missed ``board`` is kept (beside it, unless ``folder``)."""
    board = Path(board)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", team) or "team"
    return (folder or board.parent) / f"{board.stem}.unsaved-{stamp}-{safe}.csv"


def set_aside(row: dict[str, Any], board: Path) -> Path | None:
    """Write ``row`` to a side file beside ``board`` (else in the temp folder); its path, or
    None when no folder would take it."""
    from harness.board.cells import safe_row

    table = pd.DataFrame([safe_row(row)])
    table = table[[c for c in COLUMNS if c in table] + [c for c in table if c not in COLUMNS]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    for folder in (Path(board).parent, Path(tempfile.gettempdir())):
        target = side_path(board, str(row.get("team", "")), folder)
        try:
            atomic.write_text(target, buffer.getvalue())
        except (HarnessError, OSError):
            continue
        return target
    return None


def append_or_set_aside(row: dict[str, Any], board: Path, say: Callable[[str], None]) -> str | None:
    """Append ``row`` to ``board``; if that fails, keep it in a side file and say where.

    Returns:
        None when the row is on the board; else where it is kept instead (a side file, or
        the message itself when no folder would take a file).
    """
    try:
        append_rows([row], board)
        return None
    except (HarnessError, OSError) as exc:
        reason = str(exc) if isinstance(exc, HarnessError) else f"{exc.strerror or exc}"
        kept = set_aside(row, board)
        team = row.get("team", "?")
        if kept is None:
            say(
                f"error: {team}'s row could not be added to {board} ({reason}) nor kept in a "
                f"side file; here it is: {json.dumps(row, default=str)}"
            )
            return "the message above"
        say(
            f"error: {team}'s row could not be added to {board} ({reason}); it is kept in "
            f"{kept}: add it to the board once the board is fixed"
        )
        return str(kept)
