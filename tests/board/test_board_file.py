"""The leaderboard file survives whatever is in it, and no computed row is ever dropped."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.sidefile import append_or_set_aside
from harness.cli import main
from harness.errors import BoardError
from tests.conftest import write_team


def row(team: str, score: float | None = 1.0, status: str = "ok") -> dict:
    return {"timestamp_utc": "2026-01-01T00:00:00", "team": team, "status": status, "score": score}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def test_team_names_that_look_missing_stay_teams(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    names = ["NA", "null", "nan", "None", "N/A", "1e5"]
    for i, name in enumerate(names):
        leaderboard.append_rows([row(name, score=10.0 + i)], path)
    table = leaderboard.read(path)
    assert list(table["team"]) == names
    board = leaderboard.ranked(table)
    assert list(board["team"]) == names and list(board["rank"]) == [1, 2, 3, 4, 5, 6]


def write_board(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD_HEADER = "timestamp_utc,team,run_id,status,error,score,n_fake_with_mask"
GOOD_LINE = "2026-01-01T00:00:00,a,r1,ok,,12.5,1000"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [GOOD_HEADER, GOOD_LINE, "2026-01-01T00:00:00,b,r1,ok,,twelve,1000"],
            "line 3, column score: 'twelve' is not a number",
        ),
        (
            [GOOD_HEADER, "2026-01-01T00:00:00,b,r1,ok,,12.5,lots", GOOD_LINE],
            "line 2, column n_fake_with_mask: 'lots' is not a number",
        ),
        (
            [GOOD_HEADER, GOOD_LINE, "garbage,,,,,,,,,,,,,"],
            "line 3: it has 14 fields, the header 7",
        ),
        ([GOOD_HEADER, "2026-01-01T00:00:00,b,r1,done,,1,1"], "line 2, column status: 'done'"),
        ([GOOD_HEADER, "2026-01-01T00:00:00,b,r1,ok,,,1"], "line 2, column score: empty on an ok"),
        ([GOOD_HEADER, "2026-01-01T00:00:00,,r1,ok,,1,1"], "line 2, column team: empty"),
        (
            ["timestamp_utc,team,run_id,error,score", "2026-01-01T00:00:00,a,r1,,12.5"],
            "has no status column (line 1, the header, has timestamp_utc, team, run_id",
        ),
        ([GOOD_HEADER + ",team", GOOD_LINE + ",a"], "names column team twice"),
    ],
    ids=["score", "count", "garbage", "status", "no-score", "no-team", "no-status", "dup"],
)
def test_a_broken_board_is_one_error_naming_line_and_column(
    lines: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_board(tmp_path / "results.csv", lines)
    with pytest.raises(BoardError, match=r"^leaderboard .*results\.csv "):
        leaderboard.read(path)
    code, out, err = run_cli(["leaderboard", "--leaderboard", str(path)], capsys)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("error: leaderboard") and message in err, err


def test_a_board_with_several_problems_names_the_first_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    path = write_board(
        tmp_path / "results.csv",
        [GOOD_HEADER, GOOD_LINE, "2026,b,r1,ok,,x,1", "2026,c,r1,ok,,y,1", "2026,d,r1,ok,,z,1"],
    )
    with pytest.raises(BoardError, match=r"line 3, column score: 'x' .*\(2 more problem"):
        leaderboard.read(path)


def test_an_empty_board_file_is_an_empty_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.csv"
    path.write_text("")
    code, out, _ = run_cli(["leaderboard", "--leaderboard", str(path)], capsys)
    assert code == 0 and out.strip() == "no rows yet"
    leaderboard.append_rows([row("a")], path)
    assert list(leaderboard.read(path)["team"]) == ["a"]


def test_a_failed_append_keeps_the_row_in_a_side_file(tmp_path: Path) -> None:
    path = write_board(tmp_path / "results.csv", [GOOD_HEADER, GOOD_LINE, "garbage,,,"])
    before = path.read_bytes()
    said: list[str] = []
    where = append_or_set_aside(row("NA", score=7.5), path, said.append)
    assert where is not None and Path(where).parent == tmp_path
    assert path.read_bytes() == before, "the damaged board is left for a person to fix"
    kept = pd.read_csv(where, keep_default_na=False)
    assert kept.loc[0, "team"] == "NA" and kept.loc[0, "score"] == 7.5
    assert said == [
        f"error: NA's row could not be added to {path} ({said[0].split('(', 1)[1].split(');')[0]}); "
        f"it is kept in {where}: add it to the board once the board is fixed"
    ]
    assert "line 3: it has 4 fields" in said[0]


def test_an_immutable_board_keeps_the_row_in_a_side_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([row("a")], path)

    real_replace = os.replace

    def immutable(src: str, dst: str) -> None:
        if Path(dst) == path:  # chattr +i: this one file cannot be replaced
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", immutable)
    said: list[str] = []
    where = append_or_set_aside(row("b"), path, said.append)
    monkeypatch.undo()
    assert where is not None and "Operation not permitted" in said[0]
    assert list(pd.read_csv(where)["team"]) == ["b"]
    assert list(leaderboard.read(path)["team"]) == ["a"]


def test_score_all_goes_on_past_a_broken_board_and_loses_no_row(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submissions = tmp_path / "submissions"
    for team in ("a", "b", "c"):
        write_team(submissions / team)
    board = write_board(tmp_path / "results.csv", [GOOD_HEADER, "2026,x,r1,ok,,oops,1"])
    # A run id no team has: each gets a failed row, quickly (an untrained team gets no row).
    args = ["score", "--all", "--submissions", str(submissions), "--runs", str(tmp_path / "runs")]
    args += ["--run", "no-such-run"]
    args += ["--data", str(tiny_data), "--leaderboard", str(board), "--no-labels", "--json"]
    code, out, err = run_cli(args, capsys)
    assert code == 1 and "Traceback" not in err
    side_files = sorted(tmp_path.glob("results.unsaved-*.csv"))
    assert [pd.read_csv(p)["team"][0] for p in side_files] == ["a", "b", "c"], "no row lost"
    assert err.count("it is kept in") == 3
    assert err.strip().splitlines()[-1].startswith(f"error: 3 row(s) are not on {board}")
    assert len(pd.read_json(__import__("io").StringIO(out))) == 3, "the results still printed"
