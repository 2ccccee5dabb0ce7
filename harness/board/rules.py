"""The competition's gates on scoring: a daily submission limit per team, and a deadline.

Kaggle limits submissions per team per UTC day so that the public board cannot be probed at
will, and closes submissions at a deadline. Both read the results table and the settings
from :mod:`harness.settings.competition`; a refused team gets one line and no row. Only submissions
that scored count against the limit, as on Kaggle: a failure costs the team nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from harness.settings.competition import Competition


def submissions_on(table: pd.DataFrame, team: str, day: str) -> int:
    """Scored (``ok``) submissions of ``team`` whose ``submitted_at`` (else ``timestamp_utc``)
    falls on the UTC date ``day`` (``YYYY-MM-DD``)."""
    if table.empty or "team" not in table or "status" not in table:
        return 0
    rows = table[(table["team"] == team) & (table["status"] == "ok")]
    if rows.empty:
        return 0
    blank = pd.Series(pd.NA, index=rows.index, dtype=object)
    stamps = rows["submitted_at"].astype(object) if "submitted_at" in rows else blank
    fallback = rows["timestamp_utc"].astype(object) if "timestamp_utc" in rows else blank
    stamps = stamps.where(stamps.notna(), fallback)
    return int(stamps.astype(str).str.startswith(day).sum())


def closed_message(competition: Competition, now: datetime | None = None) -> str | None:
    """Why nothing can be submitted any more, or None while the competition is open."""
    if competition.closed(now):
        assert competition.deadline is not None
        return (
            f"the competition closed at {competition.deadline.isoformat()} "
            "(deadline in competition.toml); no more submissions are taken"
        )
    return None


def refusal(
    table: pd.DataFrame, team: str, competition: Competition, now: datetime | None = None
) -> str | None:
    """Why ``team`` may not be scored now (one line), or None when it may."""
    now = now or datetime.now(timezone.utc)
    closed = closed_message(competition, now)
    if closed:
        return f"{team}: not scored: {closed}"
    limit = competition.daily_submissions
    if limit:
        day = now.date().isoformat()
        used = submissions_on(table, team, day)
        if used >= limit:
            return (
                f"{team}: not scored: it has used its {limit} submission(s) for {day} (UTC) "
                "(daily_submissions in competition.toml); the next one is taken after 00:00 UTC"
            )
    return None
