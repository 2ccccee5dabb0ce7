"""The options of a scoring worker, declared once for ``harness serve`` and ``harness worker``.

``serve`` starts its local workers as ``harness worker`` processes, so every option that shapes
a worker must reach them unchanged. :class:`WorkerOptions` holds them; it builds the worker's
settings (checking them, so that ``serve`` refuses a mistake before it starts anything) and
the command line that hands the same options to a child worker. A new worker option is one
field here and one parameter in each command's signature, never a second copy of the logic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

DimsOpt = Annotated[int, typer.Option(help="Inception feature dims (2048, 768, 192 or 64).")]
BootstrapOpt = Annotated[int, typer.Option(help="Bootstrap replicates (0: none).")]
LabelsOpt = Annotated[bool, typer.Option(help="Measure label fidelity with the mask classifier.")]
LeaseOpt = Annotated[
    float, typer.Option("--lease-s", help="Job lease in seconds; a worker's heartbeat renews it.")
]
PollOpt = Annotated[
    float,
    typer.Option(
        "--slurm-poll-s", help="With --executor slurm: how often a worker checks its Slurm job."
    ),
]
ServiceExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local (score in the worker's process), slurm (each job in a Slurm job of its own, "
        "through submitit), or submitit-local (those jobs as local processes: a dry run).",
    ),
]


@dataclass(frozen=True)
class WorkerOptions:
    """A worker's command-line options, as given (None: the default the worker picks)."""

    data: Path | None
    leaderboard: Path
    competition: Path | None
    isolation: str | None
    device: str
    dims: int
    bootstrap: int
    labels: bool
    lease_s: float
    executor: str
    slurm_partition: str | None
    gpus_per_job: int | None
    cpus_per_job: int | None
    time_limit: str | None
    slurm_extra: list[str] | None
    slurm_folder: Path | None
    slurm_poll_s: float

    @classmethod
    def pick(cls, values: dict[str, Any]) -> WorkerOptions:
        """The options among a command's parameters (its ``locals()``)."""
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})

    def argv(self) -> list[str]:
        """These options as ``harness worker`` flags (what ``serve`` starts its workers with)."""
        out: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                out.append(flag if value else f"--no-{flag[2:]}")
            elif isinstance(value, list):
                for item in value:
                    out += [flag, str(item)]
            elif value is not None:
                out += [flag, str(value)]
        return out

    def settings(self, state: Path) -> Any:
        """The checked :class:`harness.service.workers.WorkerSettings` for state folder ``state``.

        Raises:
            HarnessError: a Slurm option without ``--executor slurm``, no ``sbatch`` for Slurm,
                an unreadable competition file, no data (one line each).
        """
        from harness.paths import data_root
        from harness.scale.plan import make_settings
        from harness.service.workers import WorkerSettings
        from harness.settings.competition import load_competition

        scale = make_settings(
            jobs=None,
            devices=None,
            executor=self.executor,
            partition=self.slurm_partition,
            gpus_per_job=self.gpus_per_job,
            cpus_per_job=self.cpus_per_job,
            time_limit=self.time_limit,
            extra=self.slurm_extra,
            folder=self.slurm_folder,
        )
        return WorkerSettings(
            state=state,
            data_root=data_root(self.data),
            board=self.leaderboard,
            competition=load_competition(self.competition),
            isolation=self.isolation,
            device=self.device,
            dims=self.dims,
            bootstrap=self.bootstrap,
            labels=self.labels,
            lease_s=self.lease_s,
            scale=scale if scale.cluster is not None else None,
            poll_s=self.slurm_poll_s,
        )
