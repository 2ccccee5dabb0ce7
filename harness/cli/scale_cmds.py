"""The scale-out halves of ``train --all``, ``score --all`` and ``tune``: parse, call
:mod:`harness.scale`, print each team's outcome as the sequential commands do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from harness.cli._common import emit, err
from harness.errors import HarnessError


def scale_settings(
    *,
    jobs: int | None,
    devices: str | None,
    executor: str,
    slurm_partition: str | None,
    gpus_per_job: int | None,
    cpus_per_job: int | None,
    time_limit: str | None,
    slurm_extra: list[str] | None,
    slurm_folder: Path | None,
    many: bool,
) -> Any:
    """The checked :class:`harness.scale.plan.ScaleSettings`; ``many``: the command runs
    several teams (``--all``) or workers, which is what these options are for."""
    asked = [
        name
        for name, value in (
            ("--jobs", jobs),
            ("--devices", devices),
            ("--slurm-folder", slurm_folder),
        )
        if value is not None
    ]
    if executor != "local":
        asked.append("--executor")
    if asked and not many:
        raise HarnessError(f"{', '.join(asked)} run many teams at once: add --all")
    from harness.scale.plan import make_settings

    return make_settings(
        jobs=jobs,
        devices=devices,
        executor=executor,
        partition=slurm_partition,
        gpus_per_job=gpus_per_job,
        cpus_per_job=cpus_per_job,
        time_limit=time_limit,
        extra=slurm_extra,
        folder=slurm_folder,
    )


def train_line(outcome: dict[str, Any]) -> str:
    """One team's training outcome, in the words of ``harness train``."""
    team = outcome["team"]
    if outcome.get("status") != "ok":
        return f"{team}: failed: {outcome.get('error')}"
    return (
        f"{team}: run {outcome['run_id']} trained to epoch {outcome['epochs_done']} "
        f"(step {outcome['steps_done']}, {outcome['images_per_s']:.0f} images/s on "
        f"{outcome['device']})"
    )


def train_all_cmd(
    submissions: Path,
    *,
    data_root: Path,
    runs_root: Path,
    overrides: dict[str, Any],
    settings: Any,
    device: str,
    precision: str,
    timeout_s: float | None,
    as_json: bool,
) -> None:
    """Train every team in ``submissions``; exit 1 when any team failed."""
    from harness.scale.teams import train_all
    from harness.scoring.score import discover_teams

    teams = discover_teams(submissions, say=err)
    if not teams:
        raise HarnessError(f"no team folders with a model.py in {submissions}")
    outcomes = train_all(
        teams,
        data_root=data_root,
        runs_root=runs_root,
        overrides=overrides,
        settings=settings,
        device=device,
        precision=precision,
        timeout_s=timeout_s,
        on_done=lambda outcome: err(train_line(outcome)),
        say=err,
    )
    failed = [o["team"] for o in outcomes if o.get("status") != "ok"]
    summary = f"trained {len(outcomes) - len(failed)} of {len(outcomes)} team(s)"
    if failed:
        summary += f"; failed: {', '.join(failed)}"
    emit(outcomes, as_json, "\n".join([*map(train_line, outcomes), summary]))
    if failed:
        raise typer.Exit(1)


def score_all_cmd(
    teams: list[Path],
    *,
    data_root: Path,
    runs_root: Path,
    board_path: Path,
    score_settings: Any,
    settings: Any,
    run_id: str | None,
    labels: bool,
    as_json: bool,
) -> None:
    """Score every team through jobs and print the rows as ``score --all`` does."""
    import pandas as pd

    from harness.board import leaderboard as board
    from harness.scale.teams import score_all

    rows = score_all(
        teams,
        data_root=data_root,
        runs_root=runs_root,
        board_path=board_path,
        score_settings=score_settings,
        settings=settings,
        run_id=run_id,
        labels=labels,
        say=err,
    )
    table = board.ranked(pd.DataFrame(rows), all_runs=True)
    emit(rows, as_json, table.to_string(index=False))
