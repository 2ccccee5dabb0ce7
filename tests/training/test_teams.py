"""The example teams: each validates and trains a step through the real pipeline on tiny images."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.training import checkpoint, runs
from harness.training.train import train_team
from harness.training.validate import validate_spec

TEAMS = sorted(p for p in Path("submissions").iterdir() if (p / "model.py").is_file())


def test_the_five_course_systems_and_the_modern_baseline_are_here() -> None:
    assert [p.name for p in TEAMS] == ["team1", "team2", "team3", "team4", "team5", "team6"]
    assert all((p / "README.md").is_file() for p in TEAMS)


@pytest.mark.parametrize("team", TEAMS, ids=[p.name for p in TEAMS])
def test_team_validates_and_takes_training_steps(
    team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    summary = validate_spec(team)
    assert summary["image_size"] == 64 and summary["search_space"], summary
    if team.name == "team4":  # its loss is a factory of hparams: named by what it builds
        assert summary["loss"] == "InfoGANLoss (built by spec.loss(hparams))"
    result = train_team(  # validated just above, in this process: no validation child
        team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"max_steps": 2, "batch_size": 8},
        image_size=64,
    )
    assert result["steps_done"] == 2
    state = checkpoint.load(runs.latest_checkpoint(Path(result["run_dir"])))
    assert state["step"] == 2 and state["image_size"] == 64
