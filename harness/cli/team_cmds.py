"""``harness validate``, ``train`` and ``sample``: commands that run a team's code (in children)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli._common import (
    DataOpt,
    DeviceOpt,
    IsolationOpt,
    JsonOpt,
    MemoryOpt,
    RunsOpt,
    TeamArg,
    TuneDirOpt,
    emit,
    err,
    parse_sets,
)


def validate(team: TeamArg, isolation: IsolationOpt = None, as_json: JsonOpt = False) -> None:
    """Import a team's model.py in a child process and check it against GeneratorSpec."""
    from harness.sandbox.isolation import use_isolation
    from harness.training.train import validate_team

    use_isolation(isolation)
    summary = validate_team(team)
    text = (
        f"{team}: ok: {summary['name']}, latent {summary['latent_dim']}, "
        f"{summary['image_size']}px, loss {summary['loss']}, "
        f"G {summary['generator_params'] / 1e6:.2f}M / D {summary['discriminator_params'] / 1e6:.2f}M "
        f"parameters, search space: {', '.join(summary['search_space']) or 'none'}"
    )
    emit(summary, as_json, text)


def train(
    team: TeamArg,
    data: DataOpt = None,
    runs: RunsOpt = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the team's).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size (default: the team's).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many D steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the team's).")] = None,
    device: DeviceOpt = "auto",
    resume: Annotated[
        str | None,
        typer.Option(help="Continue a run: its id, or 'latest'.", show_default=False),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting or hparam: --set lr_g=1e-4 (repeatable)."),
    ] = None,
    params: Annotated[
        str | None,
        typer.Option(
            "--params", help="'best' (a `harness tune` study's best trial) or a JSON file."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="The study --params best reads (default: latest).")
    ] = None,
    tune_dir: TuneDirOpt = Path("tune"),
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Stop training after this many seconds (default 43,200: 12 h; 0: none).",
            show_default=False,
        ),
    ] = None,
    memory_gib: MemoryOpt = None,
    isolation: IsolationOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a team's GAN on the train split, with checkpoints, grids and resume."""
    from harness.paths import data_root, runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.training.train import train_team

    use_isolation(isolation)

    overrides: dict[str, Any] = {}
    source = None
    trial_params = None
    if params:
        from harness.tuning.params import load_params

        trial_params, source = load_params(team, params, tune_root=tune_dir, study=study)
        err(f"training with parameters from {source['file']}: {trial_params}")
    overrides.update(parse_sets(param or []))
    for key, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("max_steps", max_steps),
        ("seed", seed),
    ):
        if value is not None:
            overrides[key] = value
    result = train_team(
        team,
        data_root=data_root(data),
        runs_root=runs_root(runs),
        overrides=overrides,
        device=device,
        resume=resume,
        timeout_s=timeout,
        memory_gib=memory_gib,
        params_source=source,
        trial_params=trial_params,
    )
    text = (
        f"{team}: run {result['run_id']} trained to epoch {result['epochs_done']} "
        f"(step {result['steps_done']}, {result['images_per_s']:.0f} images/s on {result['device']})\n"
        f"  checkpoint {result['checkpoint']}\n  grid       {result['grid']}"
    )
    emit(result, as_json, text)


def sample(
    team: TeamArg,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: latest trained).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint file of that run.")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per class.")] = 1000,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 0,
    device: DeviceOpt = "auto",
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Stop sampling after this many seconds (default 1,800; 0: none).",
            show_default=False,
        ),
    ] = None,
    memory_gib: MemoryOpt = None,
    isolation: IsolationOpt = None,
) -> None:
    """Generate N samples per class from a trained run into samples.npz and a grid PNG."""
    from harness.paths import runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.sandbox.limits import job_limits
    from harness.scoring.sample import sample_team

    use_isolation(isolation)
    result = sample_team(
        team,
        runs_root=runs_root(runs),
        run_id=run,
        checkpoint=checkpoint,
        n_per_class=n,
        seed=seed,
        device=device,
        limits=job_limits("sample", timeout_s=timeout, memory_gib=memory_gib),
    )
    typer.echo(f"{result.path}\n{result.path.with_suffix('.png')}")
