"""Default limits on every job, and the options that change them (issue 12, item 6)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.errors import HarnessError, TeamCodeError
from harness.sandbox import limits
from harness.sandbox.limits import DEFAULTS, Limits, job_limits
from harness.training import train as train_module
from harness.training.train import train_team
from tests.conftest import write_team


def test_every_job_has_a_time_memory_process_and_output_limit() -> None:
    for job in ("validate", "train", "sample"):
        got = job_limits(job)
        assert None not in (got.timeout_s, got.memory_gib, got.max_processes, got.output_mib), job
    assert job_limits("sample").timeout_s == 1800.0, "scoring keeps its 30-minute default"


def test_zero_turns_a_limit_off_and_a_given_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert job_limits("train", timeout_s=0, memory_gib=0).timeout_s is None
    assert job_limits("train", timeout_s=0, memory_gib=0).memory_gib is None
    assert job_limits("sample", timeout_s=60, memory_gib=3).timeout_s == 60
    monkeypatch.setattr(limits, "physical_memory_gib", lambda: 8.0)
    assert job_limits("train").memory_gib == 6.0, "a default never exceeds 3/4 of the memory"
    assert job_limits("train", memory_gib=7).memory_gib == 7, "the user's value is taken as is"


def test_training_without_options_runs_under_the_default_limits(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run_child(job: str, request: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs, job=job)
        return {"run_dir": request["run_dir"]}

    monkeypatch.setattr(train_module, "run_child", fake_run_child)
    train_team(tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={}, image_size=16)
    assert seen["job"] == "train" and seen["limits"] == job_limits("train")
    assert seen["limits"].timeout_s == DEFAULTS["train"].timeout_s


def test_a_forward_that_never_returns_is_stopped_by_the_default_time_limit(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(DEFAULTS, "train", replace(DEFAULTS["train"], timeout_s=10.0))
    team = write_team(
        tmp_path / "looper",
        {
            "        return torch.tanh(": "        while True:\n            pass\n        return torch.tanh("
        },
    )
    with pytest.raises(TeamCodeError, match="looper: timed out after 10 s and was stopped"):
        train_team(
            team, data_root=tiny_data, runs_root=tmp_path / "runs", overrides={}, image_size=16
        )


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_train_options_reach_the_job(
    tiny_team: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: dict[str, Any] = {}

    def fake_train_team(team: Path, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs)
        raise HarnessError("stopped here")

    monkeypatch.setattr(train_module, "train_team", fake_train_team)
    code, err = run_cli(["train", str(tiny_team), "--timeout", "5", "--memory-gib", "2.5"], capsys)
    assert code == 1 and "stopped here" in err
    assert seen["timeout_s"] == 5 and seen["memory_gib"] == 2.5


def test_score_options_shorten_the_sampling_limits(
    tiny_team: Path,
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / "runs" / "tiny" / "20260101-000000"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch-0001.pt").touch()
    (run / "checkpoints" / "latest.json").write_text(json.dumps({"file": "epoch-0001.pt"}))
    (run / "config.json").write_text(json.dumps({"image_size": 16}))
    seen: list[Limits] = []

    def fake_sample_team(team: Path, **kwargs: Any) -> None:
        seen.append(kwargs["limits"])
        raise HarnessError("sampling stopped here")

    monkeypatch.setattr("harness.scoring.sample.sample_team", fake_sample_team)
    args = ["score", str(tiny_team), "--data", str(tiny_data), "--runs", str(tmp_path / "runs")]
    args += ["--no-labels", "--leaderboard", str(tmp_path / "board.csv")]
    run_cli([*args, "--timeout", "60", "--memory-gib", "3"], capsys)
    run_cli(args, capsys)
    assert seen[0].timeout_s == 60 and seen[0].memory_gib == 3
    assert seen[1] == job_limits("sample")


def test_tune_options_reach_the_trials(
    tiny_team: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def fake_tune_team(team: Path, *, settings: Any, **kwargs: Any) -> dict[str, Any]:
        seen["settings"] = settings
        raise HarnessError("tuning stopped here")

    monkeypatch.setattr("harness.tuning.tune.tune_team", fake_tune_team)
    code, _ = run_cli(
        ["tune", str(tiny_team), "--trial-timeout", "90", "--memory-gib", "2"], capsys
    )
    assert code == 1
    assert seen["settings"].trial_timeout_s == 90 and seen["settings"].memory_gib == 2
