"""Disqualified submissions stay in results.csv but leave every board (the organiser's mark)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.board.disqualified import (
    disqualified_path,
    drop_disqualified,
    read_disqualified,
    record_disqualified,
)


def test_a_disqualified_row_is_dropped_and_the_record_survives_a_torn_line(tmp_path: Path) -> None:
    results = tmp_path / "leaderboard" / "results.csv"
    table = pd.DataFrame({"team": ["a", "a", "b"], "submission_id": ["s1", "s2", "s3"]})
    assert drop_disqualified(table, results).equals(table)  # no file: nothing dropped
    record_disqualified(results, "s2", "a", "copied another team's generator")
    with open(disqualified_path(results), "a") as handle:
        handle.write('{"submission_id": "s3", "rea')  # a write cut short by a killed process
    assert read_disqualified(results) == {"s2": "copied another team's generator"}
    assert list(drop_disqualified(table, results)["submission_id"]) == ["s1", "s3"]
