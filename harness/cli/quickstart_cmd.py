"""``harness quickstart``: the whole loop once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import (
    DataOpt,
    DeviceOpt,
    IsolationOpt,
    err,
)


def quickstart(
    data: DataOpt = None,
    team: Annotated[Path, typer.Option(help="The team to train.")] = Path("submissions/team2"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 1,
    n: Annotated[int, typer.Option("--n", help="Samples per class for scoring.")] = 250,
    workdir: Annotated[Path, typer.Option(help="Where runs and results go.")] = Path("quickstart"),
    device: DeviceOpt = "auto",
    download: Annotated[
        bool, typer.Option(help="Try downloading the data when none is found.")
    ] = True,
    isolation: IsolationOpt = None,
) -> None:
    """Run the whole loop once: data, a short training, scoring, the ranked board."""
    from harness.quickstart import QuickstartInterrupted, remember_data, run_quickstart
    from harness.sandbox.isolation import Isolation, use_isolation

    # The quickstart trains and scores the harness's own example team, on the user's own
    # machine: soft stays a fallback here (with its warning), and the mode is said at the end.
    mode = use_isolation(isolation)
    note = remember_data(data) if data is not None else None
    if note:
        err(note)
    try:
        outcome = run_quickstart(
            data_flag=data,
            team_dir=team,
            workdir=workdir,
            epochs=epochs,
            n_per_class=n,
            device=device,
            say=err,
            allow_download=download,
        )
    except QuickstartInterrupted as exc:
        err(f"\n{exc}")
        raise typer.Exit(130) from None
    trained = outcome["train"]
    typer.echo(
        f"\ntrained {team} for {trained['epochs_done']} epoch(s) at {trained['images_per_s']:.0f} images/s "
        f"on {trained['device']}\nsample grid: {trained['grid']}\n"
    )
    from harness.board.terminal import render

    typer.echo(render(outcome["board"]))
    typer.echo(
        f"\nresults: {outcome['board_path']} (score = FID(with_mask) + FID(without_mask), lower wins)"
    )
    if n < 1000:
        typer.echo(
            f"scored with {n} samples per class; the competition uses 1,000 (FID falls as N grows)"
        )
    typer.echo(
        "isolation: strict (team code ran in a bubblewrap sandbox)"
        if mode is Isolation.STRICT
        else "isolation: soft (team code ran as a plain child process, not sandboxed; "
        "`harness doctor` says how to get strict isolation)"
    )
    if outcome["demo"]:
        typer.echo("DEMO data: these numbers say nothing about the real competition")
