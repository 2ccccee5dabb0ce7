"""Final selections: the K submissions a team picks for the private board, kept append-only.

On Kaggle a team marks the submissions it wants judged on the private part; a team that
marks none is judged on its best public ones. ``harness select submissions/<team> ID...``
appends one line to ``selections.jsonl`` beside ``results.csv``; a team's latest line is its
selection (an empty list clears it). Nothing is ever rewritten, so the file is also the record
of who chose what and when.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError

FILE_NAME = "selections.jsonl"


class SelectionError(HarnessError):
    """A selection names an unknown, failed or foreign submission, or too many."""


def selections_path(results: Path) -> Path:
    """The selections file that belongs to a results CSV."""
    return Path(results).with_name(FILE_NAME)


def read_selections(results: Path) -> dict[str, list[str]]:
    """Each team's current selection (its latest line); a torn last line is ignored."""
    path = selections_path(results)
    current: dict[str, list[str]] = {}
    if not path.is_file():
        return current
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            current[str(record["team"])] = [str(i) for i in record["submission_ids"]]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed process
    return current


def _check(table: pd.DataFrame, team: str, ids: Sequence[str], limit: int) -> None:
    if len(ids) > limit:
        raise SelectionError(
            f"{team} selected {len(ids)} submissions; this competition takes at most {limit} "
            "(final_selections in competition.toml)"
        )
    known = table.set_index("submission_id") if "submission_id" in table else pd.DataFrame()
    for sid in ids:
        if sid not in known.index:
            raise SelectionError(
                f"no scored submission {sid!r}; `harness leaderboard --all-runs` lists "
                "submission ids"
            )
        row = known.loc[[sid]].iloc[-1]
        if row.get("team") != team:
            raise SelectionError(f"submission {sid} belongs to {row.get('team')}, not to {team}")
        if row.get("status") != "ok":
            raise SelectionError(f"submission {sid} failed to score; select a scored one")


def record_selection(
    results: Path,
    table: pd.DataFrame,
    team: str,
    ids: Sequence[str],
    *,
    limit: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check ``ids`` against the results and append them as the team's selection.

    Raises:
        SelectionError: more than ``limit`` ids, or an id that is unknown, another team's, or
            a failed row.
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    _check(table, team, ids, limit)
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    record = {"team": team, "submission_ids": ids, "selected_at": stamp}
    path = selections_path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One short write in append mode: lines from concurrent teams never interleave.
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return record
