"""How many teams run at once, where, and on what: the settings every scale-out command shares.

One machine: ``--jobs K`` runs K teams at a time, slot ``s`` on device ``devices[s % len]``
(``--devices cuda:0,cuda:1``), and on a CPU the K jobs share the cores, each with its share of
threads. A cluster: ``--executor slurm`` turns each team into a job of a Slurm array through
submitit (``--jobs`` caps how many of them run at once); ``submitit-local`` runs the very same
pickled jobs as local processes, a dry run of a Slurm submission on this machine.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

EXECUTORS: tuple[str, ...] = ("local", "slurm", "submitit-local")
DEFAULT_TIME_LIMIT = "4:00:00"
CLUSTER_JOBS = 256  # without --jobs, an array is not capped (submitit's own default)
_EXTRA_KEY = re.compile(r"[a-z][a-z0-9_-]*")


def parse_time_limit(text: str) -> int:
    """A Slurm time (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``)
    in whole minutes, rounded up, as submitit's ``timeout_min`` takes it."""
    value = text.strip()
    days = 0
    pattern = r"(\d+)-(\d+)(?::(\d+))?(?::(\d+))?|(\d+)(?::(\d+))?(?::(\d+))?"
    match = re.fullmatch(pattern, value)
    if not match:
        raise HarnessError(
            f"--time-limit {text!r} is not a Slurm time; write minutes (90), HH:MM:SS (1:30:00) "
            "or D-HH:MM:SS (1-00:00:00)"
        )
    if match.group(1) is not None:
        days, hours = int(match.group(1)), int(match.group(2))
        minutes, seconds = int(match.group(3) or 0), int(match.group(4) or 0)
    else:
        parts = [int(p) for p in match.groups()[4:] if p is not None]
        if len(parts) == 1:
            hours, minutes, seconds = 0, parts[0], 0
        elif len(parts) == 2:
            hours, minutes, seconds = 0, parts[0], parts[1]
        else:
            hours, minutes, seconds = parts
    total = days * 1440 + hours * 60 + minutes + (1 if seconds else 0)
    if total < 1:
        raise HarnessError(f"--time-limit {text!r} is zero; give the jobs some time")
    return total


def parse_extra(items: list[str]) -> dict[str, str]:
    """``--slurm-extra account=proj --slurm-extra qos=high`` as sbatch options (``--account``)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not _EXTRA_KEY.fullmatch(key):
            raise HarnessError(
                f"--slurm-extra expects KEY=VALUE with an sbatch option name, got {item!r} "
                "(e.g. --slurm-extra account=myproject)"
            )
        out[key] = value
    return out


@dataclass(frozen=True)
class SlurmOptions:
    """What each Slurm job asks for.

    Attributes:
        partition: ``--partition`` (None: the cluster's default).
        gpus_per_job: GPUs per job (``--gpus-per-node``); 0 for CPU jobs.
        cpus_per_job: CPU cores per job (``--cpus-per-task``); also the job's thread count.
        time_limit_min: the job's time limit in minutes.
        extra: further sbatch options, name -> value (``account``, ``qos``, ``mem``...).
        folder: where submitit writes job scripts, pickles and logs (shared filesystem).
    """

    partition: str | None = None
    gpus_per_job: int = 0
    cpus_per_job: int | None = None
    time_limit_min: int = 240
    extra: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None


@dataclass(frozen=True)
class ScaleSettings:
    """How a many-team command runs: K at a time, on which devices, through which executor."""

    jobs: int = 1
    devices: tuple[str, ...] = ("auto",)
    executor: str = "local"
    slurm: SlurmOptions = SlurmOptions()

    @property
    def cluster(self) -> str | None:
        """submitit's cluster name for this executor (None: a local process pool)."""
        return {"slurm": "slurm", "submitit-local": "local"}.get(self.executor)

    @property
    def parallel(self) -> bool:
        """Whether the scale-out path runs (anything but one job at a time on this machine)."""
        return self.executor != "local" or self.jobs > 1

    def device_of_slot(self, slot: int) -> str:
        """The device of local slot ``slot``: the devices are dealt out in turn."""
        return self.devices[slot % len(self.devices)]


def make_settings(
    *,
    jobs: int | None,
    devices: str | None,
    executor: str,
    partition: str | None,
    gpus_per_job: int | None,
    cpus_per_job: int | None,
    time_limit: str | None,
    extra: list[str] | None,
    folder: Path | None,
) -> ScaleSettings:
    """Check the command-line options and build the settings; every mistake is one line.

    Raises:
        HarnessError: an unknown executor, a count below 1, Slurm options without
            ``--executor slurm``, ``--devices`` with Slurm, ``sbatch`` missing for Slurm, a
            device this machine does not have.
    """
    from harness.device import parse_devices

    if executor not in EXECUTORS:
        raise HarnessError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    slurm_flags = {
        "--slurm-partition": partition,
        "--gpus-per-job": gpus_per_job,
        "--cpus-per-job": cpus_per_job,
        "--time-limit": time_limit,
        "--slurm-extra": extra or None,
    }
    if executor == "local":
        given = [name for name, value in slurm_flags.items() if value is not None]
        if given:
            raise HarnessError(
                f"{', '.join(given)} set the Slurm jobs; add --executor slurm "
                "(or --executor submitit-local to try them on this machine)"
            )
        names = tuple(parse_devices(devices))
    else:
        if devices is not None:
            raise HarnessError(
                "--devices deals this machine's GPUs to the --jobs slots; with --executor "
                f"{executor} each job gets its GPUs from the scheduler: use --gpus-per-job"
            )
        names = ("auto",)
    if jobs is None:
        jobs = CLUSTER_JOBS if executor != "local" else (len(names) if devices else 1)
    if jobs < 1:
        raise HarnessError(f"--jobs must be at least 1, got {jobs}")
    if gpus_per_job is not None and gpus_per_job < 0:
        raise HarnessError(f"--gpus-per-job must be 0 or more, got {gpus_per_job}")
    if cpus_per_job is not None and cpus_per_job < 1:
        raise HarnessError(f"--cpus-per-job must be at least 1, got {cpus_per_job}")
    if executor == "slurm" and shutil.which("sbatch") is None:
        raise HarnessError(
            "--executor slurm needs Slurm's sbatch on PATH (run it on the cluster's login node); "
            "--executor submitit-local runs the same jobs on this machine"
        )
    slurm = SlurmOptions(
        partition=partition,
        gpus_per_job=gpus_per_job or 0,
        cpus_per_job=cpus_per_job,
        time_limit_min=parse_time_limit(time_limit or DEFAULT_TIME_LIMIT),
        extra=parse_extra(extra or []),
        folder=folder,
    )
    return ScaleSettings(jobs=jobs, devices=names, executor=executor, slurm=slurm)
