"""``harness data split``, ``export`` and ``select``: running a Kaggle-style competition.

The organiser splits the held-out images into public and private parts once; teams that train
on their own machines hand in ``harness export``'s small checkpoint; before the deadline each
team selects the submissions it wants judged on the private part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli._common import DataOpt, JsonOpt, OverwriteOpt, RunsOpt, TeamArg, emit

CompetitionOpt = Annotated[
    Path | None,
    typer.Option(
        "--competition",
        help="Competition settings (default: competition.toml here, else built-in defaults).",
    ),
]
ResultsOpt = Annotated[
    Path, typer.Option("--leaderboard", help="Results CSV (selections live beside it).")
]


def data_split(
    data: DataOpt = None,
    public_fraction: Annotated[
        float | None,
        typer.Option(help="Share of each test class on the public board (default: settings)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="The secret seed (default: 63 random bits).")
    ] = None,
    overwrite: OverwriteOpt = False,
    competition: CompetitionOpt = None,
) -> None:
    """Assign each test image to the public or private board, per class, from a secret seed."""
    from harness.classes import CLASS_NAMES
    from harness.data.layout import list_split
    from harness.data.split import make_split, split_path
    from harness.paths import data_root
    from harness.settings.competition import load_competition

    root = data_root(data)
    fraction = (
        public_fraction
        if public_fraction is not None
        else load_competition(competition).public_fraction
    )
    split = make_split(root, public_fraction=fraction, seed=seed, overwrite=overwrite)
    files = list_split(root, "test")
    counts = ", ".join(
        f"{name} {len(split.public[c])} public / {files.count(c) - len(split.public[c])} private"
        for c, name in enumerate(CLASS_NAMES)
    )
    typer.echo(
        f"wrote {split_path(root)} (split {split.digest}: {counts}); keep this file secret and "
        "out of the repository"
    )


def export(
    team: TeamArg,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: latest trained).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: TEAM/checkpoint.pt).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a trained run as TEAM/checkpoint.pt, a small file to hand in (no optimiser, no D)."""
    from harness.paths import runs_root
    from harness.training.export import export_run

    result = export_run(team, runs_root=runs_root(runs), run_id=run, out=out)
    text = (
        f"wrote {result['path']} ({result['bytes'] / 2**20:.1f} MiB; the training checkpoint "
        f"is {result['checkpoint_bytes'] / 2**20:.1f} MiB) from run {result['run_id']}, "
        f"epoch {result['epochs_done']}, step {result['steps_done']}"
        f"{', with EMA' if result['ema'] else ''}"
    )
    emit(result, as_json, text)


def select(
    team: TeamArg,
    submission_ids: Annotated[
        list[str] | None, typer.Argument(help="Submission ids (see `harness leaderboard`).")
    ] = None,
    clear: Annotated[
        bool, typer.Option(help="Select nothing (back to the K best public).")
    ] = False,
    leaderboard: ResultsOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    as_json: JsonOpt = False,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Select on the competition service at this URL instead."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="The team's token for --server (default: $HARNESS_TOKEN)."),
    ] = None,
) -> None:
    """Mark up to K submissions for the final board; without ids, show the current selection."""
    from harness.board import leaderboard as board
    from harness.board.rules import closed_message
    from harness.board.selections import read_selections, record_selection
    from harness.errors import HarnessError
    from harness.settings.competition import load_competition
    from harness.training.runs import team_name

    name = team_name(team)
    ids = list(submission_ids or [])
    if server is not None:
        _select_on_server(name, ids, clear, server, token, as_json)
        return
    settings = load_competition(competition)
    if not ids and not clear:
        current = read_selections(leaderboard).get(name, [])
        how = (
            ", ".join(current)
            if current
            else f"none (judged on its {settings.final_selections} best public submissions)"
        )
        emit({"team": name, "submission_ids": current}, as_json, f"{name} selected: {how}")
        return
    if ids and clear:
        raise HarnessError("give submission ids or --clear, not both")
    closed = closed_message(settings)
    if closed:
        raise HarnessError(f"selections are final: {closed}")
    record = record_selection(
        leaderboard, board.read(leaderboard), name, ids, limit=settings.final_selections
    )
    text = f"{name} selected: {', '.join(record['submission_ids']) or 'none'}"
    emit(record, as_json, text)


def _select_on_server(
    name: str, ids: list[str], clear: bool, server: str, token: str | None, as_json: bool
) -> None:
    """``select --server``: the same selection, recorded by the service for the token's team."""
    import os

    from harness.errors import HarnessError
    from harness.service import client

    token = token or os.environ.get("HARNESS_TOKEN")
    if not token:
        raise HarnessError("give the team's token with --token T (or set HARNESS_TOKEN)")
    if ids and clear:
        raise HarnessError("give submission ids or --clear, not both")
    if not ids and not clear:
        record = client.selection(server=server, token=token)
    else:
        record = client.select(ids, server=server, token=token)
    if record["team"] != name:
        raise HarnessError(f"the token is team {record['team']}'s, not {name}'s")
    emit(record, as_json, f"{name} selected: {', '.join(record['submission_ids']) or 'none'}")


def competition_score_settings(competition: Path | None, n: int | None) -> dict[str, object]:
    """The ScoreSettings fields that come from the competition's rules (``--n`` wins)."""
    from harness.settings.competition import load_competition

    settings = load_competition(competition)
    return {
        "n_per_class": settings.n_per_class if n is None else n,
        "samples_image_size": settings.image_size,
        "memorisation_eps": settings.memorisation_threshold,
    }


def admitted_teams(
    teams: list[Path], competition: Path | None, read_table: Any, *, single: bool
) -> list[Path]:
    """The teams ``score`` may score now: none after the deadline, none over its daily limit.

    A refused team gets one line and no row; a single refused team is an error. The board is
    read (``read_table()``) only when a daily limit needs counting: without one, a broken board
    must not stop a round whose rows can still be kept aside.
    """
    from harness.board.rules import closed_message, refusal
    from harness.cli._common import err
    from harness.errors import HarnessError
    from harness.settings.competition import load_competition

    settings = load_competition(competition)
    closed = closed_message(settings)
    if closed:
        raise HarnessError(f"nothing scored: {closed}")
    import pandas as pd

    table = read_table() if settings.daily_submissions else pd.DataFrame()
    admitted = []
    for team in teams:
        why = refusal(table, Path(team).name, settings)
        if why is None:
            admitted.append(team)
        elif single:
            raise HarnessError(why)
        else:
            err(why)
    return admitted


def board_table(
    table: object,
    results: Path,
    competition: Path | None,
    private: bool,
    metric: str,
    all_runs: bool,
) -> object:
    """The board ``harness leaderboard`` shows: public (default) or final (``--private``)."""
    from harness.board.boards import METRICS, private_board, public_board
    from harness.board.selections import read_selections
    from harness.errors import HarnessError
    from harness.settings.competition import load_competition

    if metric not in METRICS:
        raise HarnessError(f"--metric {metric!r} is not known; use {' or '.join(METRICS)}")
    if private:
        if all_runs:
            raise HarnessError("--all-runs lists public submissions; leave it out with --private")
        k = load_competition(competition).final_selections
        return private_board(table, read_selections(results), k=k, metric=metric)  # type: ignore[arg-type]
    return public_board(table, metric=metric, all_runs=all_runs)  # type: ignore[arg-type]
