"""The spool: rows from jobs on many machines reach results.csv once each, none lost."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from harness.board import leaderboard, spool


def _row(i: int, team: str = "t") -> dict:
    return {
        "team": team,
        "run_id": f"r{i}",
        "status": "ok",
        "score": float(i),
        "n_fake_with_mask": np.int64(10),  # numpy scalars, as rows carry them
        spool.ROW_ID: spool.make_row_id("sub1", i, team),
    }


def _spool_many(folder: str, worker: int) -> None:
    for i in range(5):
        spool.spool_row(_row(worker * 100 + i, f"w{worker}"), Path(folder))


def _merge(folder: str, board: str) -> None:
    spool.merge_spool(Path(folder), Path(board))


def test_rows_from_concurrent_jobs_are_merged_once_each(tmp_path: Path) -> None:
    board = tmp_path / "results.csv"
    folder = spool.spool_dir(board)
    assert folder.name == "results.csv.spool"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_spool_many, args=(str(folder), w)) for w in range(3)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert spool.pending_rows(folder) == 15 and not board.exists(), "jobs never touch the CSV"
    merged = spool.merge_spool(folder, board)
    assert len(merged) == 15 and spool.pending_rows(folder) == 0
    table = leaderboard.read(board)
    assert sorted(table.groupby("team").size().tolist()) == [5, 5, 5]
    assert table[spool.ROW_ID].is_unique and table["n_fake_with_mask"].tolist() == [10] * 15
    assert spool.merge_spool(folder, board) == [] and len(leaderboard.read(board)) == 15


def test_two_mergers_at_once_take_each_row_once(tmp_path: Path) -> None:
    board = tmp_path / "results.csv"
    folder = spool.spool_dir(board)
    for i in range(40):
        spool.spool_row(_row(i), folder)
    context = multiprocessing.get_context("spawn")
    mergers = [context.Process(target=_merge, args=(str(folder), str(board))) for _ in range(2)]
    for m in mergers:
        m.start()
    for m in mergers:
        m.join(60)
    table = leaderboard.read(board)
    assert len(table) == 40 and table[spool.ROW_ID].is_unique
    assert spool.pending_rows(folder) == 0


def test_a_row_already_on_the_board_never_lands_twice(tmp_path: Path) -> None:
    board = tmp_path / "results.csv"
    folder = spool.spool_dir(board)
    spool.spool_row(_row(1), folder)
    assert len(spool.merge_spool(folder, board)) == 1
    # A requeued job (or a merger killed before its clean-up) spools the same row again.
    spool.spool_row(_row(1), folder)
    assert spool.merge_spool(folder, board) == []
    assert len(leaderboard.read(board)) == 1 and spool.pending_rows(folder) == 0


def test_a_dead_mergers_claim_is_taken_over_once_stale(tmp_path: Path) -> None:
    board = tmp_path / "results.csv"
    folder = spool.spool_dir(board)
    spool.spool_row(_row(1), folder)
    spool.spool_row(_row(2), folder)
    claimed = folder / spool.CLAIMED
    claimed.mkdir()
    # A merger on another node claimed row 1, then died.
    os.rename(folder / f"{_row(1)[spool.ROW_ID]}.json", claimed / f"{_row(1)[spool.ROW_ID]}.x.json")
    assert [r["run_id"] for r in spool.merge_spool(folder, board)] == ["r2"], "a fresh claim waits"
    old = time.time() - spool.STALE_CLAIM_S - 1
    os.utime(claimed / f"{_row(1)[spool.ROW_ID]}.x.json", (old, old))
    assert [r["run_id"] for r in spool.merge_spool(folder, board)] == ["r1"]
    assert sorted(leaderboard.read(board)["run_id"]) == ["r1", "r2"]


def test_row_ids_are_file_safe() -> None:
    assert spool.make_row_id("20260101-000000-ab", 3, "team.two/x") == (
        "20260101-000000-ab-0003-team_two_x"
    )
    with pytest.raises(ValueError, match="row_id"):
        spool.spool_row({"team": "a"}, Path("unused"))


def test_the_leaderboard_command_merges_rows_nobody_waited_for(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # The process that waited for the cluster jobs was killed; the jobs finished anyway.
    from harness.cli import main

    board = tmp_path / "results.csv"
    spool.spool_row({**_row(1), "timestamp_utc": "t"}, spool.spool_dir(board))
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(board), "--json"])
    out, err = capsys.readouterr()
    assert [r["team"] for r in json.loads(out)] == ["t"]
    assert "merged 1 row(s) that jobs left in" in err
    assert len(leaderboard.read(board)) == 1 and spool.pending_rows(spool.spool_dir(board)) == 0
