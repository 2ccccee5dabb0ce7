"""Reference rows (the real-data floor) sit on every board at their score, ranked ``ref``,
without taking a team's rank, a team's lead or a place on the final board's selection rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.board import leaderboard
from harness.board.boards import private_board, public_board
from harness.board.references import REFERENCE_RANK, interleave, reference_mask
from harness.board.terminal import render

PROTOCOL = {"n_fake_with_mask": 1000, "n_fake_without_mask": 1000, "image_size": 64}


def row(team: str, score: float, *, reference: object = "", **extra: object) -> dict[str, object]:
    return {
        "timestamp_utc": f"2026-12-01T00:00:{int(score) % 60:02d}",
        "team": team,
        "run_id": f"{team}-{score}",
        "status": "ok",
        "score": score,
        "score_ci_low": score - 1.0,
        "score_ci_high": score + 1.0,
        "reference": reference,
        **PROTOCOL,
        **extra,
    }


def teams_and_floor() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row("team4", 300.0),
            row("team4", 310.0),
            row("team1", 470.0),
            row("team6", 250.0),
            row("real-train", 59.5, reference=True),
            row("real-train", 61.0, reference=True),  # a second draw: only the best is shown
        ]
    )


def test_the_floor_is_placed_by_score_and_the_teams_keep_their_ranks() -> None:
    board = leaderboard.ranked(teams_and_floor())
    assert board["team"].tolist() == ["real-train", "team6", "team4", "team1"]
    assert board["rank"].tolist() == [REFERENCE_RANK, 1, 2, 3]
    assert board.loc[board["team"] == "real-train", "score"].item() == 59.5
    # the lead of team6 is over team4, never over the reference
    assert board.loc[board["team"] == "team6", "ahead_of_next"].item() == "yes"


def test_a_reference_between_teams_and_one_worse_than_all() -> None:
    table = pd.DataFrame(
        [
            row("a", 10.0),
            row("b", 30.0),
            row("mid", 20.0, reference="true"),
            row("low", 99.0, reference="True"),
        ]
    )
    board = leaderboard.ranked(table)
    assert board["team"].tolist() == ["a", "mid", "b", "low"]
    assert board["rank"].tolist() == [1, REFERENCE_RANK, 2, REFERENCE_RANK]
    assert board.loc[board["team"] == "a", "ahead_of_next"].item() == "yes"  # a vs b, not mid


def test_reference_flags_as_the_csv_gives_them_back(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows(teams_and_floor().to_dict(orient="records"), path)
    read = leaderboard.read(path)
    assert reference_mask(read).tolist() == [False, False, False, False, True, True]
    text = render(leaderboard.ranked(read))
    assert "ref" in text and "real-train" in text


def test_no_reference_column_and_no_reference_rows_change_nothing() -> None:
    table = teams_and_floor().drop(columns="reference")
    board = leaderboard.ranked(table)
    assert REFERENCE_RANK not in board["rank"].tolist()
    assert interleave(board, board.iloc[0:0], "score").equals(board)


def split_rows() -> pd.DataFrame:
    def competition(team: str, sid: str, public: float, private: float, **extra: object):
        return row(
            team,
            (public + private) / 2,
            submission_id=sid,
            split_digest="s1",
            score_public=public,
            score_private=private,
            **extra,
        )

    return pd.DataFrame(
        [
            competition("a", "a1", 100.0, 120.0),
            competition("b", "b1", 80.0, 150.0),
            competition("real-train", "r1", 60.0, 58.0, reference=True),
        ]
    )


def test_public_and_final_boards_show_the_floor_ranked_ref() -> None:
    public = public_board(split_rows())
    assert public["team"].tolist() == ["real-train", "b", "a"]
    assert public["rank"].tolist() == [REFERENCE_RANK, 1, 2]
    assert "score_private" not in public.columns
    final = private_board(split_rows(), {}, k=2)
    assert final["team"].tolist() == ["real-train", "a", "b"]
    assert final["rank"].tolist() == [REFERENCE_RANK, 1, 2]
    assert final.loc[final["team"] == "real-train", "chosen_by"].item() == "reference"


def test_markdown_marks_the_reference_row() -> None:
    text = leaderboard.to_markdown(leaderboard.ranked(teams_and_floor()))
    floor_line = next(line for line in text.splitlines() if "real-train" in line)
    assert floor_line.startswith("| ref ")


def test_the_terminal_shows_each_boards_own_numbers() -> None:
    """The public board's terminal table shows public scores (it once showed blanks: the
    whole-test columns it looked for are not on it), the final board its private ones; a
    memoriser's MiFID is in powers of ten; a team scored before the split is not 'failed'."""
    table = pd.concat(
        [
            split_rows().assign(mifid_public=[100.0, 80.0, 6.0e15], memorised=[0, 0, 1]),
            pd.DataFrame([row("old", 1.0)]),  # scored before the split: ok, but not on it
        ],
        ignore_index=True,
    )
    public = render(public_board(table), width=160)
    assert "public" in public and "80.0" in public and "100.0" in public
    assert "6e+15" in public and "120.0" not in public  # no private number (3 figures, as Markdown)
    assert "not on this board:" in public and "failed" not in public
    assert "old: not scored with the current public/private split" in public
    final = render(private_board(table, {}, k=2), width=160)
    assert "120.0" in final and "150.0" in final and "best 1 public" in final
    assert "not on this board:" in final and "failed" not in final
