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
    PrecisionOpt,
    RunsOpt,
    SubmissionsOpt,
    TeamArg,
    TuneDirOpt,
    emit,
    err,
    others_code,
    parse_sets,
)
from harness.cli.scale_cmds import scale_settings
from harness.cli.scale_opts import (
    CpusOpt,
    DevicesOpt,
    ExecutorOpt,
    ExtraOpt,
    GpusOpt,
    JobFolderOpt,
    JobsOpt,
    PartitionOpt,
    TimeLimitOpt,
)
from harness.errors import HarnessError


def validate(team: TeamArg, isolation: IsolationOpt = None, as_json: JsonOpt = False) -> None:
    """Import a team's model.py in a child process and check it against GeneratorSpec."""
    from harness.sandbox.isolation import use_isolation
    from harness.training.train import validate_team

    use_isolation(isolation, others_code=others_code("validate"))
    summary = validate_team(team)
    text = (
        f"{team}: ok: {summary['name']}, latent {summary['latent_dim']}, "
        f"{summary['image_size']}px, loss {summary['loss']}, "
        f"G {summary['generator_params'] / 1e6:.2f}M / D {summary['discriminator_params'] / 1e6:.2f}M "
        f"parameters, search space: {', '.join(summary['search_space']) or 'none'}"
    )
    emit(summary, as_json, text)


def train(
    team: Annotated[
        Path | None, typer.Argument(help="A team folder, e.g. submissions/team2 (or use --all).")
    ] = None,
    all_teams: Annotated[
        bool, typer.Option("--all", help="Train every team in --submissions.")
    ] = False,
    submissions: SubmissionsOpt = Path("submissions"),
    data: DataOpt = None,
    runs: RunsOpt = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the team's).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size (default: the team's).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many D steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the team's).")] = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
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
    jobs: JobsOpt = None,
    devices: DevicesOpt = None,
    executor: ExecutorOpt = "local",
    slurm_partition: PartitionOpt = None,
    gpus_per_job: GpusOpt = None,
    cpus_per_job: CpusOpt = None,
    time_limit: TimeLimitOpt = None,
    slurm_extra: ExtraOpt = None,
    slurm_folder: JobFolderOpt = None,
) -> None:
    """Train a team's GAN on the train split, with checkpoints, grids and resume."""
    from harness.cli import scale_cmds
    from harness.paths import data_root, runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.training.train import train_team

    if (team is None) == (not all_teams):
        raise HarnessError("give one team folder, or --all to train every team in --submissions")
    if all_teams and (resume or params):
        raise HarnessError("--resume and --params are for one team; drop them with --all")
    scale = scale_settings(
        jobs=jobs,
        devices=devices,
        executor=executor,
        slurm_partition=slurm_partition,
        gpus_per_job=gpus_per_job,
        cpus_per_job=cpus_per_job,
        time_limit=time_limit,
        slurm_extra=slurm_extra,
        slurm_folder=slurm_folder,
        many=all_teams,
    )
    use_isolation(isolation, others_code=others_code("train", all_teams=all_teams))

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
    if all_teams:
        scale_cmds.train_all_cmd(
            submissions,
            data_root=data_root(data),
            runs_root=runs_root(runs),
            overrides=overrides,
            settings=scale,
            device=device,
            precision=precision,
            timeout_s=timeout,
            as_json=as_json,
        )
        return
    assert team is not None
    result = train_team(
        team,
        # Without --data a resumed run trains on the folder it recorded, a new one on the
        # default (see harness.paths.data_root).
        data_root=None if data is None else data_root(data),
        runs_root=runs_root(runs),
        overrides=overrides,
        device=device,
        resume=resume,
        timeout_s=timeout,
        memory_gib=memory_gib,
        params_source=source,
        trial_params=trial_params,
        precision=precision,
    )
    text = (
        f"{team}: run {result['run_id']} {_how_far(result)} "
        f"({result['images_per_s']:.0f} images/s on {result['device']})\n"
        f"  checkpoint {result['checkpoint']}\n  grid       {result['grid']}"
    )
    emit(result, as_json, text)


def _how_far(result: dict[str, Any]) -> str:
    """Where training ended: every epoch, or where ``--max-steps`` cut this session short.

    The limit is the number the user gave: a session resumed at step 8 with ``--max-steps 6``
    says "--max-steps 6 (step 8 -> 14)", never an absolute step the user did not type.
    """
    steps, done = result["steps_done"], result["epochs_done"]
    epochs = result.get("epochs", done)
    if result.get("status") != "max_steps":
        return f"trained to epoch {done} of {epochs} (step {steps})"
    batch, per_epoch = result.get("batch_in_epoch", 0), result.get("batches_per_epoch")
    where = (
        f"after epoch {done} of {epochs}"
        if not batch
        else f"{batch} of {per_epoch} batches into epoch {done + 1} of {epochs}"
    )
    start = int(result.get("session_start_step") or 0)
    limit = result.get("max_steps") or steps - start
    span = f"step {steps}" if not start else f"step {start} -> {steps}"
    return f"stopped at --max-steps {limit} ({span}), {where}; not complete"


def sample(
    team: TeamArg,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: latest trained).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint file of that run.")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per class.")] = 1000,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 0,
    device: DeviceOpt = "auto",
    walk: Annotated[
        bool,
        typer.Option(
            "--walk",
            help="Instead of samples, draw the latent walk: z from --seed to --seed + 1, per class.",
        ),
    ] = False,
    walk_steps: Annotated[int, typer.Option(help="Images along the walk, ends included.")] = 10,
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
    """Generate N samples per class from a trained run into samples.npz and a grid PNG
    (with --walk: the latent walk between two seeds, per class)."""
    from harness.paths import runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.sandbox.limits import job_limits
    from harness.scoring.sample import sample_team

    use_isolation(isolation, others_code=others_code("sample"))
    if walk:
        from harness.scoring.walk import walk_team

        drawn = walk_team(
            team,
            runs_root=runs_root(runs),
            run_id=run,
            checkpoint=checkpoint,
            seeds=(seed, seed + 1),
            steps=walk_steps,
            device=device,
        )
        typer.echo(f"{drawn.path}\n{drawn.grid}")
        return
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
