"""One team cannot stop a scoring round: whatever its code raises, it gets a failed row.

The attempts of issue 12 as a hostile team would make them: ``KeyboardInterrupt`` at import
and in ``forward``, ``SystemExit`` in ``forward``, a SIGINT the child sends itself, a forged
"the harness asked me to stop", and an int64 generator output. Each borrows the tiny team's
trained run, so only sampling runs per team.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.board import leaderboard
from harness.scoring.score import Scorer, ScoreSettings
from harness.training.train import train_team
from tests.conftest import write_team

FAST = ScoreSettings(
    n_per_class=6, seed=0, bootstrap=0, kid_subsets=2, kid_subset_size=4, dims=64, device="cpu"
)
FORWARD = "        return torch.tanh("
EVAL_ONLY = "        if not self.training:\n            {}\n" + FORWARD

HOSTILE = {
    "ki_import": (
        {"import torch\n": "import torch\nraise KeyboardInterrupt\n"},
        "KeyboardInterrupt",
    ),
    "ki_forward": ({FORWARD: EVAL_ONLY.format("raise KeyboardInterrupt")}, "KeyboardInterrupt"),
    "exit_forward": ({FORWARD: EVAL_ONLY.format("raise SystemExit(0)")}, "SystemExit"),
    "self_sigint": (
        {
            FORWARD: EVAL_ONLY.format(
                "import os, signal, time; os.kill(os.getpid(), signal.SIGINT); time.sleep(5)"
            )
        },
        "interrupt the harness did not send",
    ),
    "forged_stop": (
        {
            FORWARD: EVAL_ONLY.format(
                "from harness.errors import Interrupted; raise Interrupted('fake')"
            )
        },
        "interrupt the harness did not send",
    ),
    "int64_output": (
        {FORWARD: EVAL_ONLY.format("return torch.zeros(len(z), 3, SIZE, SIZE, dtype=torch.long)")},
        "dtype torch.int64, expected a float tensor",
    ),
}


@pytest.fixture(scope="module")
def competition(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> tuple[Path, Path]:
    """``submissions/`` with the good tiny team and every hostile one, and their runs."""
    base = tmp_path_factory.mktemp("hostile")
    submissions, runs_root = base / "submissions", base / "runs"
    good = write_team(submissions / "tiny")
    train_team(
        good, data_root=tiny_data, runs_root=runs_root, overrides={"epochs": 1}, image_size=16
    )
    for name, (replace, _) in HOSTILE.items():
        write_team(submissions / name, replace)
        (runs_root / name).symlink_to(runs_root / "tiny")  # the same trained run, hostile code
    return submissions, runs_root


def test_no_team_fault_stops_the_round(
    competition: tuple[Path, Path], tiny_data: Path, tmp_path: Path, fid_weights
) -> None:  # type: ignore[no-untyped-def]
    submissions, runs_root = competition
    board_path = tmp_path / "results.csv"
    said: list[str] = []
    scorer = Scorer(data_root=tiny_data, runs_root=runs_root, settings=FAST, say=said.append)
    teams = [submissions / name for name in [*HOSTILE, "tiny"]]  # the good team scored last
    rows = scorer.score_teams(teams, on_row=lambda row: leaderboard.append_rows([row], board_path))
    by_team = {row["team"]: row for row in rows}
    assert list(by_team) == [*HOSTILE, "tiny"]
    for name, (_, message) in HOSTILE.items():
        assert by_team[name]["status"] == "failed", name
        assert message in by_team[name]["error"], (name, by_team[name]["error"])
    assert by_team["tiny"]["status"] == "ok"
    saved = leaderboard.read(board_path)
    assert list(saved["team"]) == [*HOSTILE, "tiny"], "every row on the board, none lost"


def test_the_users_ctrl_c_names_the_teams_left_and_how_to_score_them(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    scorer = Scorer(data_root=tiny_data, runs_root=tmp_path / "runs", say=said.append)

    def ctrl_c_at_b(team_dir: Path, run_id: str | None = None) -> dict:
        if Path(team_dir).name == "b":
            raise KeyboardInterrupt  # the parent's own SIGINT, while scoring team b
        return scorer.failed_row(Path(team_dir).name, "no run")

    monkeypatch.setattr(scorer, "score_team", ctrl_c_at_b)
    teams = [tmp_path / "s" / name for name in ("a", "b", "c")]
    with pytest.raises(KeyboardInterrupt):
        scorer.score_teams(teams)
    assert said[-1].startswith("interrupted: 2 team(s) not scored (b, c)")
    assert f"`harness score {teams[1]} {teams[2]}`" in said[-1]
