"""``harness real-floor``: the real-data floor as a reference row on the board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import BoardOpt, DataOpt, DeviceOpt, JsonOpt, RunsOpt, emit, err
from harness.cli.competition_cmds import CompetitionOpt


def real_floor(
    data: DataOpt = None,
    runs: RunsOpt = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Train images per class (default: the competition's N)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Which train images are drawn.")] = 0,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the interval (0: none).")
    ] = 100,
    labels: Annotated[
        bool, typer.Option(help="Measure label fidelity with the mask classifier.")
    ] = True,
    device: DeviceOpt = "auto",
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score N real train images per class like a submission: the floor a perfect generator
    would reach at this N, shown on the board as a reference (rank 'ref'), not a team."""
    from harness.board.sidefile import append_or_set_aside
    from harness.cli.competition_cmds import competition_score_settings
    from harness.data.layout import list_split
    from harness.data.split import load_split
    from harness.errors import HarnessError
    from harness.paths import data_root, runs_root
    from harness.scoring.real_floor import score_real_floor
    from harness.scoring.rounds import check_sample_count
    from harness.scoring.score import Scorer, ScoreSettings

    rules = competition_score_settings(competition, n)
    check_sample_count(int(rules["n_per_class"]))  # type: ignore[call-overload]
    root = data_root(data)
    list_split(root, "test")
    load_split(root)
    settings = ScoreSettings(seed=seed, bootstrap=bootstrap, device=device, **rules)  # type: ignore[arg-type]
    judge = None
    if labels:
        from harness.scoring.label_fidelity import LabelJudge

        judge = LabelJudge(root, device=device, say=err)
    scorer = Scorer(
        data_root=root, runs_root=runs_root(runs), settings=settings, say=err, label_judge=judge
    )
    row = score_real_floor(scorer, seed=seed)
    where = append_or_set_aside(row, leaderboard, err)
    text = f"real-data floor: score {row['score']:.2f} ({row['source_note']})"
    emit(row, as_json, text)
    if where is not None:
        raise HarnessError(f"the row is not on {leaderboard}; it is kept in {where}")
