"""Options that run many teams at once (``--jobs``, ``--devices``, ``--executor`` and the
Slurm job's resources), declared once for ``train --all``, ``score --all`` and ``tune``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        help="Teams at a time: local processes, or Slurm jobs running at once (default: "
        "one per --devices entry, else 1; on Slurm, no cap).",
        show_default=False,
    ),
]
DevicesOpt = Annotated[
    str | None,
    typer.Option(
        "--devices",
        help="Devices dealt to the --jobs slots in turn, e.g. cuda:0,cuda:1 (this machine only).",
        show_default=False,
    ),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local (this machine), slurm (a job per team through submitit), or submitit-local "
        "(the Slurm jobs run as local processes: a dry run).",
    ),
]
PartitionOpt = Annotated[
    str | None, typer.Option("--slurm-partition", help="Slurm partition.", show_default=False)
]
GpusOpt = Annotated[
    int | None,
    typer.Option("--gpus-per-job", help="GPUs per Slurm job (default 0).", show_default=False),
]
CpusOpt = Annotated[
    int | None,
    typer.Option(
        "--cpus-per-job",
        help="CPU cores per Slurm job, also its thread count (default: the cluster's).",
        show_default=False,
    ),
]
TimeLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--time-limit",
        help="Slurm time limit per job: minutes, HH:MM:SS or D-HH:MM:SS (default 4:00:00).",
        show_default=False,
    ),
]
ExtraOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--slurm-extra",
        help="Another sbatch option as KEY=VALUE, e.g. account=myproject (repeatable).",
        show_default=False,
    ),
]
JobFolderOpt = Annotated[
    Path | None,
    typer.Option(
        "--slurm-folder",
        help="Where submitit keeps job scripts and logs, on the shared filesystem "
        "(default: .submitit under the runs or tune folder).",
        show_default=False,
    ),
]
