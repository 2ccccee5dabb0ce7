"""Disqualified submissions: kept and marked, but off every board.

The organiser disqualifies a submission (a copied generator, a rule broken); its row stays in
``results.csv`` and its files stay where they are, so the decision can be reviewed, but no board
ranks it and no team can select it. The record is ``disqualified.jsonl`` beside ``results.csv``,
append-only as ``selections.jsonl`` is: one line per decision, the file is also the audit trail.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

FILE_NAME = "disqualified.jsonl"


def disqualified_path(results: Path) -> Path:
    """The disqualifications file that belongs to a results CSV."""
    return Path(results).with_name(FILE_NAME)


def read_disqualified(results: Path) -> dict[str, str]:
    """Each disqualified submission id with the organiser's reason (a torn line is ignored)."""
    path = disqualified_path(results)
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            found[str(record["submission_id"])] = str(record.get("reason", ""))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def record_disqualified(results: Path, submission_id: str, team: str, reason: str) -> None:
    """Append one disqualification (one short write: concurrent lines never interleave)."""
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    record = {"submission_id": submission_id, "team": team, "reason": reason, "at": stamp}
    path = disqualified_path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def drop_disqualified(table: pd.DataFrame, results: Path) -> pd.DataFrame:
    """``table`` without the rows of disqualified submissions (what every board ranks)."""
    out = read_disqualified(results)
    if not out or table.empty or "submission_id" not in table:
        return table
    return table[~table["submission_id"].astype(str).isin(out)].reset_index(drop=True)
