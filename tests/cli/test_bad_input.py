"""A user's mistake is one ``error:`` line and exit 1: never a traceback, never a board row.

The bad-input attempts of issue 12, through the command line as a user types them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from tests.conftest import write_team


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``harness ARGS``; return the exit code and stderr."""
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


def assert_one_error_line(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.mark.parametrize("n", ["0", "1", "-5"])
def test_score_with_too_few_samples_is_an_error_not_a_row(
    n: str, tiny_team: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "results.csv"
    args = ["score", str(tiny_team), "--data", str(tiny_data), "--n", n]
    code, err = run_cli([*args, "--leaderboard", str(board), "--runs", str(tmp_path)], capsys)
    assert_one_error_line(code, err, f"--n {n} is too small", "at least 2")
    assert not board.exists()


def test_a_misspelt_team_is_an_error_not_a_row(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_team(tmp_path / "submissions" / "team2")
    board = tmp_path / "results.csv"
    typo = tmp_path / "submissions" / "tem2"
    code, err = run_cli(
        ["score", str(typo), "--data", str(tiny_data), "--leaderboard", str(board)], capsys
    )
    assert_one_error_line(code, err, str(typo), "teams there:", "team2")
    assert not board.exists()


def test_sample_with_zero_samples_is_an_error(
    tiny_team: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["sample", str(tiny_team), "--runs", str(tmp_path), "--n", "0"], capsys)
    assert_one_error_line(code, err, "--n 0", "at least 1")


def test_score_of_an_untrained_team_says_so_once(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It printed "tiny: not trained yet, ..." and then "error: " with the same reason.
    board = tmp_path / "results.csv"
    args = ["score", str(tiny_team), "--data", str(tiny_data), "--runs", str(tmp_path / "runs")]
    code, err = run_cli([*args, "--leaderboard", str(board)], capsys)
    assert_one_error_line(code, err, "team tiny has no trained run", "harness train")
    assert not board.exists()
