"""Appending to results.csv: earlier rows stay byte for byte, and the lock stays out of git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "leaderboard" / "results.csv"

OK_ROW = {
    "timestamp_utc": "2026-12-01T00:00:00+00:00",
    "team": "new",
    "run_id": "r9",
    "status": "ok",
    "error": "",
    "score": 512.25,
    "n_fake_with_mask": 1000,
    "n_fake_without_mask": 1000,
    "image_size": 64,
    "epochs_trained": 10,
    "used_ema": True,
}
FAILED_ROW = {
    "timestamp_utc": "2026-12-01T00:01:00+00:00",
    "team": "broken",
    "run_id": None,
    "status": "failed",
    "error": "broken: No module named 'x', see the log",
}


def test_an_append_leaves_the_committed_rows_byte_for_byte(tmp_path: Path) -> None:
    # One `score --all` with a failed row used to rewrite every committed row (100 -> 100.0).
    path = tmp_path / "results.csv"
    shutil.copyfile(COMMITTED, path)
    before = path.read_bytes()
    leaderboard.append_rows([FAILED_ROW], path)
    leaderboard.append_rows([OK_ROW, FAILED_ROW], path)
    after = path.read_bytes()
    assert after.startswith(before), "earlier rows changed"
    added = after[len(before) :].decode().splitlines()
    assert len(added) == 3
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    new = table.iloc[-2]
    assert new["n_fake_with_mask"] == "1000" and new["image_size"] == "64"
    assert new["epochs_trained"] == "10" and new["score"] == "512.25"
    assert table.iloc[-1]["n_fake_with_mask"] == "" and table.iloc[-1]["status"] == "failed"
    assert list(table.columns) == list(pd.read_csv(COMMITTED, nrows=0).columns)


def test_a_new_file_gets_the_whole_schema_and_keeps_its_first_rows(tmp_path: Path) -> None:
    path = tmp_path / "board" / "results.csv"
    leaderboard.append_rows([FAILED_ROW], path)
    first = path.read_bytes()
    leaderboard.append_rows([OK_ROW], path)
    assert path.read_bytes().startswith(first)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(table.columns) == list(leaderboard.COLUMNS)
    assert table.iloc[1]["n_fake_with_mask"] == "1000" and table.iloc[1]["used_ema"] == "True"


def test_a_row_with_a_new_column_widens_the_header_and_keeps_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([OK_ROW], path)
    before = pd.read_csv(path, dtype=str, keep_default_na=False)
    leaderboard.append_rows([{**OK_ROW, "team": "b", "mifid": 3.5}], path)
    after = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(after.columns) == [*before.columns, "mifid"]
    assert after.iloc[:1].drop(columns="mifid").equals(before)
    assert after["mifid"].tolist() == ["", "3.5"]


def test_a_file_without_a_final_newline_gets_one_before_the_new_row(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([OK_ROW], path)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    leaderboard.append_rows([FAILED_ROW], path)
    assert pd.read_csv(path)["team"].tolist() == ["new", "broken"]


def test_the_lock_file_is_hidden_and_ignored_by_git(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([OK_ROW], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.csv.lock", "results.csv"]
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    lock = leaderboard.lock_path(REPO / leaderboard.DEFAULT_PATH).relative_to(REPO)
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(lock)], check=False)
    assert ignored.returncode == 0, f"{lock} is not git-ignored"
