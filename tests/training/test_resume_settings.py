"""Resume takes the run's own settings and survives a torn last line in its metrics log."""

from __future__ import annotations

import json
from pathlib import Path

from harness.training import runs
from harness.training.metrics_log import parse_lines
from harness.training.train import train_team


def steps_logged(run_dir: Path) -> list[int]:
    records, bad = parse_lines((run_dir / runs.METRICS).read_text())
    assert bad == 0, "no torn line left in the log"
    return [r["step"] for r in records if r["kind"] == "step"]


def test_a_torn_last_metrics_line_is_dropped_and_the_run_resumes(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    first = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"epochs": 3, "max_steps": 8},
        image_size=16,
    )
    run_dir = Path(first["run_dir"])
    with open(run_dir / runs.METRICS, "a") as handle:
        handle.write('{"loss_d": 0.87, "loss_g": 1.2')  # killed mid-write: no newline, no brace
    resumed = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={}, resume="latest"
    )
    assert resumed["run_id"] == first["run_id"] and resumed["steps_done"] == 18
    assert steps_logged(run_dir) == list(range(1, 19))


def test_resume_keeps_the_runs_settings_without_repeating_the_flags(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    # Started with --batch-size 16 --epochs 3 --max-steps 2 (the team's defaults: 8 and 2).
    first = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"batch_size": 16, "epochs": 3, "max_steps": 2, "width": 16},
        image_size=16,
    )
    assert first["steps_done"] == 2
    # `harness train ... --resume latest` with no other flag: no "batch_size 16 -> 8" refusal,
    # and the run goes on to its own 3 epochs (max_steps limited the first session only).
    resumed = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={}, resume="latest"
    )
    config = runs.read_config(Path(resumed["run_dir"]))
    assert config["train_config"]["batch_size"] == 16 and config["hparams"]["width"] == 16
    assert resumed["epochs_done"] == 3 and resumed["steps_done"] == 3 * (48 // 16)
    # An explicit option that only moves the schedule is taken.
    longer = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"epochs": 4}, resume="latest"
    )
    assert longer["epochs_done"] == 4
    assert json.loads((Path(longer["run_dir"]) / runs.CONFIG).read_text())["status"] == "complete"
