"""The data's faults are the round's, not the teams': one error before any team is scored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.training import runs
from tests.conftest import write_team


def fake_trained_run(runs_root: Path, team: str, size: int = 16) -> Path:
    """A run folder that looks trained (config and a checkpoint pointer), for the round's
    checks that run before any team's code does."""
    run_dir = runs_root / team / "20260101-000000"
    (run_dir / runs.CHECKPOINTS).mkdir(parents=True)
    (run_dir / runs.CONFIG).write_text(json.dumps({"image_size": size}))
    (run_dir / runs.CHECKPOINTS / "epoch-0001.pt").write_bytes(b"never loaded")
    pointer = {"file": "epoch-0001.pt", "history": ["epoch-0001.pt"]}
    (run_dir / runs.CHECKPOINTS / "latest.json").write_text(json.dumps(pointer))
    return run_dir


def test_a_corrupt_test_image_is_one_error_before_any_team(
    tiny_data: Path, tmp_path: Path, fid_weights, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "facemask"
    shutil.copytree(tiny_data, data)
    bad = sorted((data / "test" / "without_mask").iterdir())[3]
    bad.write_bytes(bad.read_bytes()[:40])  # a truncated PNG
    submissions, runs_root = tmp_path / "submissions", tmp_path / "runs"
    for team in ("team1", "team2"):
        write_team(submissions / team)
        fake_trained_run(runs_root, team)
    board = tmp_path / "results.csv"
    args = ["score", "--all", "--submissions", str(submissions), "--runs", str(runs_root)]
    args += ["--data", str(data), "--leaderboard", str(board), "--no-labels", "--device", "cpu"]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 1 and "Traceback" not in err
    assert err.count("error:") == 1 and f"error: cannot read image {bad}" in err
    assert "sampling" not in err, "no team was sampled"
    assert not board.exists(), "no team got a failed row for the data's fault"
