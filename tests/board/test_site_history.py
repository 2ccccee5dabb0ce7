"""A team's history plot reads right with one submission or many, and its table fits a phone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.board.site.history import MIN_SPAN, plot_history, time_window


def rows(*when: str, failed: int = 0) -> pd.DataFrame:
    ok = [
        {
            "status": "ok",
            "timestamp_utc": t,
            "score": 300.0 - 10 * i,
            "score_ci_low": 290.0 - 10 * i,
            "score_ci_high": 310.0 - 10 * i,
        }
        for i, t in enumerate(when)
    ]
    bad = [{"status": "failed", "timestamp_utc": "2026-01-01T09:00:00+00:00"}] * failed
    return pd.DataFrame(ok + bad)


def test_one_scored_submission_gets_the_table_alone(tmp_path: Path) -> None:
    out = tmp_path / "history.png"
    table = rows("2026-01-01T10:00:00+00:00", failed=2)
    assert plot_history(table, score_column="score", best_index=0, out=out) is None
    assert not out.exists()


def test_several_submissions_are_drawn_over_their_own_span(tmp_path: Path) -> None:
    out = tmp_path / "history.png"
    table = rows("2026-01-01T10:00:00+00:00", "2026-01-01T10:00:01+00:00")
    size = plot_history(table, score_column="score", best_index=1, out=out)
    assert size is not None and out.stat().st_size > 1000
    times = pd.to_datetime(table["timestamp_utc"], utc=True)
    start, end = time_window(times)
    assert end - start == MIN_SPAN  # a second apart: an hour's axis, not years
    assert start < times.min() and times.max() < end
    days = pd.to_datetime(pd.Series(["2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"]), utc=True)
    start, end = time_window(days)
    assert pd.Timedelta(days=10) < end - start < pd.Timedelta(days=12)
