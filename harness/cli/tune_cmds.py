"""``harness tune``: Optuna searches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import (
    DataOpt,
    DeviceOpt,
    IsolationOpt,
    JsonOpt,
    MemoryOpt,
    TeamArg,
    TuneDirOpt,
    emit,
    err,
    others_code,
    parse_sets,
)
from harness.cli.scale_opts import (
    CpusOpt,
    ExecutorOpt,
    ExtraOpt,
    GpusOpt,
    JobFolderOpt,
    PartitionOpt,
    TimeLimitOpt,
)


def tune(
    team: TeamArg,
    trials: Annotated[int, typer.Option(help="Finished trials the study should reach.")] = 20,
    timeout: Annotated[
        float | None, typer.Option(help="Stop starting trials after this many seconds.")
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name (default: the team's name).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="RDB URL (postgresql://...) or a .journal file (default: SQLite)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
    pruner: Annotated[str, typer.Option(help="median, hyperband or none.")] = "median",
    epochs: Annotated[int, typer.Option(help="Training epochs per trial.")] = 2,
    report_every: Annotated[int, typer.Option(help="Epochs between validation scores.")] = 1,
    n_val: Annotated[int, typer.Option(help="Samples per class for the validation FID.")] = 200,
    dims: Annotated[
        int, typer.Option(help="Inception feature dims for the validation FID.")
    ] = 2048,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size of every trial (default: the team's).")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop each trial's training after this many D steps.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Fix a setting or hparam for every trial: --set g_width=32 (repeatable)."
        ),
    ] = None,
    seed: int = 0,
    data: DataOpt = None,
    device: DeviceOpt = "auto",
    tune_dir: TuneDirOpt = Path("tune"),
    report_only: Annotated[
        bool, typer.Option("--report", help="Only report: best trials and plots.")
    ] = False,
    trial_timeout: Annotated[
        float | None,
        typer.Option(
            help="Time limit of each trial's training job in seconds (default 43,200; 0: none).",
            show_default=False,
        ),
    ] = None,
    memory_gib: MemoryOpt = None,
    isolation: IsolationOpt = None,
    as_json: JsonOpt = False,
    executor: ExecutorOpt = "local",
    slurm_partition: PartitionOpt = None,
    gpus_per_job: GpusOpt = None,
    cpus_per_job: CpusOpt = None,
    time_limit: TimeLimitOpt = None,
    slurm_extra: ExtraOpt = None,
    slurm_folder: JobFolderOpt = None,
) -> None:
    """Search a team's hyperparameters with Optuna on a validation split of train (never test)."""
    from harness.cli.scale_cmds import scale_settings
    from harness.paths import data_root
    from harness.sandbox.isolation import use_isolation
    from harness.tuning.report import report
    from harness.tuning.tune import TuneSettings, tune_team

    scale = scale_settings(
        jobs=None,
        devices=None,
        executor=executor,
        slurm_partition=slurm_partition,
        gpus_per_job=gpus_per_job,
        cpus_per_job=cpus_per_job,
        time_limit=time_limit,
        slurm_extra=slurm_extra,
        slurm_folder=slurm_folder,
        many=not report_only,
    )

    settings = TuneSettings(
        trials=trials,
        study=study,
        storage=storage,
        workers=workers,
        timeout_s=timeout,
        pruner=pruner,
        epochs=epochs,
        report_every=report_every,
        n_val=n_val,
        dims=dims,
        seed=seed,
        device=device,
        batch_size=batch_size,
        max_steps=max_steps,
        overrides=parse_sets(param or []),
        trial_timeout_s=trial_timeout,
        memory_gib=memory_gib,
    )
    if report_only:
        result = report(team, tune_root=tune_dir, study=study, storage=storage, plots=True)
    elif scale.cluster is not None:
        from harness.sandbox.isolation import isolation_for_workers
        from harness.scale.teams import tune_on_cluster

        isolation_for_workers(isolation, others_code=others_code("tune"))
        result = tune_on_cluster(
            team,
            data_root=data_root(data),
            tune_root=tune_dir,
            tune_settings=settings,
            settings=scale,
            say=err,
        )
    else:
        use_isolation(isolation, others_code=others_code("tune"))
        result = tune_team(
            team, data_root=data_root(data), tune_root=tune_dir, settings=settings, say=err
        )
    counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items() if v)
    lines = [f"study {result['study']} ({result['storage']}): {counts}"]
    for row in result["best"][:5]:
        shown = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in row.items()
            if k not in ("trial", "value", "run_id")
        )
        lines.append(f"  trial {row['trial']:>3}: {row['value']:8.2f}  {shown}")
    if result.get("best_json"):
        lines.append(f"best parameters: {result['best_json']} (train with --params best)")
    lines += [f"plot: {p}" for p in result.get("plots", [])]
    emit(result, as_json, "\n".join(lines))
