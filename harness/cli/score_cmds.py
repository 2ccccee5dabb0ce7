"""``harness score``, ``fid``, ``weights`` and ``leaderboard``: the numbers and the board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import (
    BoardOpt,
    DataOpt,
    DeviceOpt,
    IsolationOpt,
    JsonOpt,
    MemoryOpt,
    RunsOpt,
    SubmissionsOpt,
    emit,
    err,
)
from harness.errors import HarnessError


def score(
    team: Annotated[Path | None, typer.Argument(help="A team folder (or use --all).")] = None,
    all_teams: Annotated[
        bool, typer.Option("--all", help="Score every team in --submissions.")
    ] = False,
    submissions: SubmissionsOpt = Path("submissions"),
    data: DataOpt = None,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: each team's latest).")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per class.")] = 1000,
    seed: Annotated[int, typer.Option(help="Sample seed, the same for every team.")] = 0,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the interval (0: none).")
    ] = 100,
    labels: Annotated[
        bool, typer.Option(help="Measure label fidelity with the mask classifier.")
    ] = True,
    device: DeviceOpt = "auto",
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Time limit of each team's sampling job in seconds (default 1,800; 0: none).",
            show_default=False,
        ),
    ] = None,
    memory_gib: MemoryOpt = None,
    isolation: IsolationOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score one team, or every team with --all, and append the rows to the leaderboard."""
    from harness.board import leaderboard as board
    from harness.paths import data_root, runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.scoring.score import Scorer, ScoreSettings, discover_teams

    if (team is None) == (not all_teams):
        raise HarnessError("give one team folder, or --all to score every team in --submissions")
    use_isolation(isolation)
    teams = discover_teams(submissions) if all_teams else [team]
    settings = ScoreSettings(
        n_per_class=n,
        seed=seed,
        bootstrap=bootstrap,
        device=device,
        sample_timeout_s=timeout,
        memory_gib=memory_gib,
    )
    root = data_root(data)
    from harness.data.layout import list_split

    list_split(root, "test")  # a wrong data folder is one error, not one failed row per team
    judge = None
    if labels:
        from harness.scoring.label_fidelity import LabelJudge

        judge = LabelJudge(root, device=device, say=err)
    scorer = Scorer(
        data_root=root, runs_root=runs_root(runs), settings=settings, say=err, label_judge=judge
    )
    rows = scorer.score_teams(
        teams,  # type: ignore[arg-type]
        run_id=run,
        on_row=lambda row: board.append_rows([row], leaderboard),
    )
    import pandas as pd

    table = board.ranked(pd.DataFrame(rows), all_runs=True)
    emit(rows, as_json, table.to_string(index=False))
    if not all_teams and rows[0]["status"] != "ok":
        raise typer.Exit(1)


def fid(
    path1: Annotated[Path, typer.Argument(help="Image folder, samples .npz or statistics .npz.")],
    path2: Annotated[Path, typer.Argument(help="Image folder, samples .npz or statistics .npz.")],
    dims: Annotated[int, typer.Option(help="Feature dims: 2048 (pool3), 768, 192 or 64.")] = 2048,
    size: Annotated[
        int | None, typer.Option(help="Resize images to SIZE first (harness resizer).")
    ] = None,
    class_: Annotated[
        str | None, typer.Option("--class", help="Only this class of .npz samples (name or index).")
    ] = None,
    batch_size: int = 50,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """FID between two image sets, as `python -m pytorch_fid` computes it."""
    from harness import device as device_mod
    from harness.classes import class_index
    from harness.scoring.metrics.fid import frechet_distance
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.sources import statistics_of

    label = None
    if class_ is not None:
        try:
            label = class_index(class_)
        except ValueError as exc:
            raise HarnessError(str(exc)) from None
    dev = device_mod.resolve_device(device)
    device_mod.configure(dev)
    extractor = InceptionFeatures(dims=dims, device=dev, batch_size=batch_size)
    a = statistics_of(path1, extractor, size=size, label=label)
    b = statistics_of(path2, extractor, size=size, label=label)
    value = frechet_distance(a, b)
    result = {
        "fid": value,
        "n1": a.n,
        "n2": b.n,
        "dims": dims,
        "weights_sha256": extractor.weights.sha256,
    }
    emit(result, as_json, f"FID: {value}")


def weights(as_json: JsonOpt = False) -> None:
    """Where the FID Inception weights are, their sha256, and how they were obtained."""
    from harness.scoring.metrics.weights import ensure_weights

    info = ensure_weights()
    text = (
        f"path:         {info.path}\nsha256:       {info.sha256}\n"
        f"source:       {info.source}\nverification: {info.verification}"
    )
    emit(info.as_dict(), as_json, text)


def leaderboard_cmd(
    path: Annotated[
        Path, typer.Option("--leaderboard", "--path", help="Results CSV (as `score` writes it).")
    ] = Path("leaderboard/results.csv"),
    markdown: Annotated[
        Path | None, typer.Option(help="Also write the board as Markdown here.")
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every ok run, not each team's best.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The ranked board (each team's best run); lower score wins."""
    from harness.board import leaderboard as board

    table = board.ranked(board.read(path), all_runs=all_runs)
    if markdown is not None:
        from harness import atomic

        atomic.write_text(markdown, board.to_markdown(table) + "\n")
        err(f"wrote {markdown}")
    emit(
        table.to_dict(orient="records"),
        as_json,
        table.to_string(index=False) if len(table) else "no rows yet",
    )
