"""``harness real-floor``: the real-data floor as a reference row on the board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import BoardOpt, DataOpt, DeviceOpt, JsonOpt, RunsOpt, emit, err
from harness.cli.competition_cmds import CompetitionOpt
from harness.cli.score_cmds import BootstrapOpt, LabelsOpt, checked_data, checked_rules, make_scorer


def real_floor(
    data: DataOpt = None,
    runs: RunsOpt = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Train images per class (default: the competition's N)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Which train images are drawn.")] = 0,
    bootstrap: BootstrapOpt = 100,
    labels: LabelsOpt = True,
    device: DeviceOpt = "auto",
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score N real train images per class like a submission: the floor a perfect generator
    would reach at this N, shown on the board as a reference (rank 'ref'), not a team."""
    from harness.board.sidefile import append_or_set_aside
    from harness.errors import HarnessError
    from harness.scoring.real_floor import score_real_floor
    from harness.scoring.score import ScoreSettings

    rules = checked_rules(competition, n)
    root = checked_data(data)
    settings = ScoreSettings(seed=seed, bootstrap=bootstrap, device=device, **rules)  # type: ignore[arg-type]
    scorer = make_scorer(root, runs, settings, labels=labels, device=device, board=leaderboard)
    row = score_real_floor(scorer, seed=seed)
    where = append_or_set_aside(row, leaderboard, err)
    text = f"real-data floor: score {row['score']:.2f} ({row['source_note']})"
    emit(row, as_json, text)
    if where is not None:
        raise HarnessError(f"the row is not on {leaderboard}; it is kept in {where}")
