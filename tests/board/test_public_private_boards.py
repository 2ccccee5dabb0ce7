"""The public board, the final board and its selection rule, selections, daily limit, deadline."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.boards import private_board, public_board
from harness.board.rules import refusal
from harness.board.selections import (
    SelectionError,
    read_selections,
    record_selection,
    selections_path,
)
from harness.cli import main
from harness.errors import HarnessError
from harness.settings.competition import Competition

SPLIT = "abc123"


def row(team: str, sid: str, public: float, private: float, **extra: object) -> dict[str, object]:
    """An ok row with a whole-test score between its public and private parts."""
    return {
        "timestamp_utc": extra.pop("at", "2026-11-20T10:00:00+00:00"),
        "team": team,
        "submission_id": sid,
        "status": "ok",
        "error": "",
        "split_digest": SPLIT,
        "score_public": public,
        "score_private": private,
        "score": (public + private) / 2,
        "fid_with_mask": public,
        "fid_public_with_mask": public / 2,
        "fid_private_with_mask": private / 2,
        "mifid_public": extra.pop("mifid_public", public),
        "mifid_private": extra.pop("mifid_private", private),
        "memorised": extra.pop("memorised", False),
        "coverage_with_mask": 0.5,
        "coverage_public_with_mask": 0.4,
        **extra,
    }


@pytest.fixture
def table() -> pd.DataFrame:
    rows = [
        # a: its best public (a1) is its worst private; it selects a2.
        row("a", "a1", 10.0, 90.0),
        row("a", "a2", 20.0, 30.0),
        # b: selects nothing; its K = 2 best public are b1 and b2; b3 has the best private of
        # all but is third on public, so Kaggle's rule never looks at it.
        row("b", "b1", 15.0, 50.0),
        row("b", "b2", 16.0, 40.0),
        row("b", "b3", 40.0, 1.0),
        # c: memorised (MiFID huge), best public by FID.
        row("c", "c1", 5.0, 5.0, memorised=True, mifid_public=5e15, mifid_private=5e15),
        # d: only a failure.
        {"timestamp_utc": "2026-11-20T11:00:00+00:00", "team": "d", "status": "failed",
         "error": "boom", "submission_id": "d1"},
        # e: scored before the split existed.
        {"timestamp_utc": "2026-11-19T10:00:00+00:00", "team": "e", "status": "ok",
         "submission_id": "e1", "score": 1.0},
    ]  # fmt: skip
    return pd.DataFrame(rows)


PRIVATE_NUMBERS = ("score_private", "fid_private_with_mask", "mifid_private", "score",
                   "fid_with_mask", "coverage_with_mask")  # fmt: skip


def test_the_public_board_ranks_by_public_score_and_shows_no_private_number(
    table: pd.DataFrame,
) -> None:
    board = public_board(table)
    assert board["team"].tolist() == ["c", "a", "b", "e", "d"]  # unranked last, oldest first
    assert board["submission_id"].tolist()[:3] == ["c1", "a1", "b1"]
    assert board["rank"].tolist() == [1, 2, 3, "-", "-"]
    assert not set(PRIVATE_NUMBERS) & set(board.columns)
    assert "coverage_public_with_mask" in board.columns
    errors = dict(zip(board["team"], board["error"], strict=True))
    assert errors["d"] == "boom" and "current public/private split" in errors["e"]
    every = public_board(table, all_runs=True)
    assert every["submission_id"].tolist() == ["c1", "a1", "b1", "b2", "a2", "b3", "e1", "d1"]


def test_the_final_board_follows_the_selection_rule(table: pd.DataFrame) -> None:
    board = private_board(table, {"a": ["a2"]}, k=2)
    ranked = board[board["rank"] != "-"]
    assert ranked["team"].tolist() == ["c", "a", "b"]
    picked = dict(zip(ranked["team"], ranked["submission_id"], strict=True))
    assert picked == {"c": "c1", "a": "a2", "b": "b2"}  # not b3, not a1
    chosen = dict(zip(ranked["team"], ranked["chosen_by"], strict=True))
    assert chosen == {"c": "best 1 public", "a": "selected (1)", "b": "best 2 public"}
    assert ranked["score_private"].tolist() == [5.0, 30.0, 40.0]
    # With K = 3, b's third-best public submission becomes eligible, and wins.
    wider = private_board(table, {}, k=3).set_index("team")
    assert wider.loc["b", "submission_id"] == "b3" and wider.loc["a", "submission_id"] == "a2"


def test_mifid_sinks_a_memorising_team(table: pd.DataFrame) -> None:
    assert public_board(table, metric="mifid")["team"].tolist()[:3] == ["a", "b", "c"]
    final = private_board(table, {"a": ["a2"]}, k=2, metric="mifid")
    assert final["team"].tolist()[:3] == ["a", "b", "c"]


def test_without_a_split_the_public_board_is_the_whole_test_board() -> None:
    rows = [
        {"timestamp_utc": "t1", "team": "x", "status": "ok", "score": 12.0, "submission_id": "x1",
         "score_ci_low": 11.0, "score_ci_high": 13.0},
        {"timestamp_utc": "t2", "team": "y", "status": "ok", "score": 10.0, "submission_id": "y1",
         "score_ci_low": 9.0, "score_ci_high": 10.5},
    ]  # fmt: skip
    board = public_board(pd.DataFrame(rows))
    assert board["team"].tolist() == ["y", "x"] and "score" in board.columns
    assert board["ahead_of_next"].tolist() == ["yes", ""]
    with pytest.raises(HarnessError, match="no row was scored with a public/private split"):
        private_board(pd.DataFrame(rows), {}, k=2)


def test_selections_are_checked_and_appended(table: pd.DataFrame, tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    record_selection(results, table, "a", ["a2", "a2"], limit=2)
    assert read_selections(results) == {"a": ["a2"]}
    record_selection(results, table, "a", ["a1", "a2"], limit=2)
    for ids, message in (
        (["a1", "a2", "a1x"], "selected 3 submissions; this competition takes at most 2"),
        (["zz"], "no scored submission 'zz'"),
        (["b1"], "submission b1 belongs to b, not to a"),
    ):
        with pytest.raises(SelectionError, match=message):
            record_selection(results, table, "a", ids, limit=2)
    with pytest.raises(SelectionError, match="d1 failed to score"):
        record_selection(results, table, "d", ["d1"], limit=2)
    lines = selections_path(results).read_text().splitlines()
    assert [json.loads(line)["submission_ids"] for line in lines] == [["a2"], ["a1", "a2"]]
    with open(selections_path(results), "a") as handle:
        handle.write('{"team": "a", "submission_')  # a write cut short
    assert read_selections(results) == {"a": ["a1", "a2"]}


def test_select_command_and_the_final_board_from_the_command_line(
    table: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.csv"
    leaderboard.append_rows(table.to_dict(orient="records"), results)
    (tmp_path / "b").mkdir()
    with pytest.raises(SystemExit) as info:
        main(["select", str(tmp_path / "b"), "b3", "--leaderboard", str(results)])
    assert info.value.code == 0 and capsys.readouterr().out == "b selected: b3\n"
    with pytest.raises(SystemExit):
        main(["select", str(tmp_path / "b"), "--leaderboard", str(results), "--json"])
    assert json.loads(capsys.readouterr().out) == {"team": "b", "submission_ids": ["b3"]}
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(results), "--private", "--json"])
    final = json.loads(capsys.readouterr().out)
    assert [(r["rank"], r["team"], r["submission_id"]) for r in final[:3]] == [
        (1, "b", "b3"),
        (2, "c", "c1"),
        (3, "a", "a2"),
    ]
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(results), "--json"])
    public = json.loads(capsys.readouterr().out)
    assert all(not set(PRIVATE_NUMBERS) & set(r) for r in public)
    with pytest.raises(SystemExit):
        main(["select", str(tmp_path / "b"), "--clear", "--leaderboard", str(results)])
    assert capsys.readouterr().out == "b selected: none\n" and read_selections(results)["b"] == []
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(results), "--private", "--json"])
    final = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    assert final["b"]["submission_id"] == "b2" and final["b"]["chosen_by"] == "best 2 public"
    with pytest.raises(SystemExit) as info:
        main(["select", str(tmp_path / "b"), "b1", "b2", "b3", "--leaderboard", str(results)])
    assert info.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: b selected 3 submissions; this competition takes at most 2 "
        "(final_selections in competition.toml)"
    ]


def test_the_daily_limit_counts_todays_scored_submissions(table: pd.DataFrame) -> None:
    rules = Competition(daily_submissions=2)
    today = datetime(2026, 11, 20, 23, 0, tzinfo=timezone.utc)
    assert refusal(table, "a", rules, today) is not None  # a1 and a2 today
    assert refusal(table, "c", rules, today) is None  # one today
    assert refusal(table, "d", rules, today) is None  # failures do not count
    assert refusal(table, "a", rules, datetime(2026, 11, 21, tzinfo=timezone.utc)) is None
    assert refusal(table, "a", Competition(), today) is None  # no limit by default
    message = refusal(table, "a", rules, today)
    assert message == (
        "a: not scored: it has used its 2 submission(s) for 2026-11-20 (UTC) "
        "(daily_submissions in competition.toml); the next one is taken after 00:00 UTC"
    )


def test_score_refuses_a_team_over_its_limit_and_writes_no_row(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.csv"
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    leaderboard.append_rows(
        [{"timestamp_utc": now, "submitted_at": now, "team": "a", "status": "ok", "score": 1.0}],
        results,
    )
    before = results.read_bytes()
    (tmp_path / "competition.toml").write_text("daily_submissions = 1\n")
    (tmp_path / "subs" / "a").mkdir(parents=True)
    (tmp_path / "subs" / "a" / "model.py").write_text("")
    args = ["--data", str(tiny_data), "--leaderboard", str(results)]
    toml = ["--competition", str(tmp_path / "competition.toml")]
    with pytest.raises(SystemExit) as info:
        main(["score", str(tmp_path / "subs" / "a"), *args, *toml])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: a: not scored: it has used its 1")
    with pytest.raises(SystemExit) as info:
        main(["score", "--all", "--submissions", str(tmp_path / "subs"), *args, *toml])
    assert info.value.code == 0 and "a: not scored" in capsys.readouterr().err
    assert results.read_bytes() == before
    (tmp_path / "competition.toml").write_text("deadline = 2020-01-01T00:00:00Z\n")
    with pytest.raises(SystemExit) as info:
        main(["score", "--all", "--submissions", str(tmp_path / "subs"), *args, *toml])
    assert "error: nothing scored: the competition closed at 2020-01-01" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["select", str(tmp_path / "subs" / "a"), "x", "--leaderboard", str(results), *toml])
    assert "error: selections are final: the competition closed" in capsys.readouterr().err
    assert results.read_bytes() == before and not selections_path(results).exists()


def test_the_markdown_board_shows_a_memorisers_mifid_in_short(table: pd.DataFrame) -> None:
    markdown = leaderboard.to_markdown(public_board(table))
    row_c = next(line for line in markdown.splitlines() if "| c " in line)
    assert " 5e+15 |" in row_c and "5000000000000000" not in markdown and "True" in row_c
