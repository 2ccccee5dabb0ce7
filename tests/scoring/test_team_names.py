"""Team names are checked where teams are found: a folder whose name is not a plain identifier
gets no row and no run, only a line naming it (``repr``, so a newline cannot forge a line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.scoring.rounds import check_team_folders
from harness.scoring.score import Scorer, ScoreSettings, discover_teams
from harness.training.runs import usable_team_name

HOSTILE_NAMES = [
    "=cmd|calc!A0",
    "+1",
    "-rf",
    "@SUM(A1)",
    ".hidden",
    "a;b",
    "two\nlines",
    "tab\there",
    "space name",
    "naïve",
    "x" * 65,
]
PLAIN_NAMES = ["team1", "Team-2", "team_3", "t.4", "_five", "6"]


def samples_team(folder: Path) -> Path:
    folder.mkdir(parents=True)
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    np.savez(folder / "samples.npz", images=images, labels=np.array([0, 0, 1, 1]))
    return folder


def test_the_rule() -> None:
    assert [n for n in PLAIN_NAMES if not usable_team_name(n)] == []
    assert [n for n in HOSTILE_NAMES if usable_team_name(n)] == []


def test_discovery_leaves_hostile_folders_out_with_one_line_each(tmp_path: Path) -> None:
    for name in [*HOSTILE_NAMES, *PLAIN_NAMES]:
        samples_team(tmp_path / name)
    said: list[str] = []
    found = discover_teams(tmp_path, say=said.append)
    assert sorted(p.name for p in found) == sorted(PLAIN_NAMES)
    assert len(said) == len(HOSTILE_NAMES)
    for name, line in zip(sorted(HOSTILE_NAMES), said, strict=True):
        assert repr(name) in line and "gets no row" in line and "\n" not in line


def test_scoring_makes_no_row_for_a_hostile_name(tmp_path: Path, tiny_data: Path) -> None:
    teams = [samples_team(tmp_path / "subs" / name) for name in HOSTILE_NAMES[:7]]
    said: list[str] = []
    scorer = Scorer(
        data_root=tiny_data, runs_root=tmp_path / "runs", settings=ScoreSettings(), say=said.append
    )
    assert scorer.score_teams(teams) == []
    assert len([line for line in said if "gets no row" in line]) == len(teams)
    with pytest.raises(HarnessError, match="is not usable, so it gets no row"):
        check_team_folders(teams[:1])


def test_score_all_writes_no_row_and_no_run_for_a_hostile_folder(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in HOSTILE_NAMES:
        samples_team(tmp_path / "subs" / name)
    board, runs = tmp_path / "results.csv", tmp_path / "runs"
    args = ["score", "--all", "--submissions", str(tmp_path / "subs"), "--data", str(tiny_data)]
    with pytest.raises(SystemExit):
        main([*args, "--runs", str(runs), "--leaderboard", str(board), "--no-labels"])
    err = capsys.readouterr().err
    assert not board.exists() and not runs.exists()
    for name in HOSTILE_NAMES:
        assert f"team folder name {name!r} is not usable, so it gets no row" in err
