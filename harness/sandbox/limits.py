"""Limits on the jobs that run team code, and their defaults, in one table.

Every job gets a wall-clock limit, a memory limit, a cap on the processes it may start and a cap
on the output it may print, unless the caller says otherwise: a ``forward`` that loops forever
or a team that allocates without end must end in one error line, not a hung or swapped machine.
:data:`DEFAULTS` is the one place the defaults live; competition settings, when a competition
defines them, are meant to replace these values here, so that the CLI, the library and tuning
read the same numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from harness.errors import HarnessError

JOBS = ("validate", "train", "sample")
PHYSICAL_MEMORY_SHARE = 0.75


@dataclass(frozen=True)
class Limits:
    """Limits on one child job (None: no limit).

    Attributes:
        timeout_s: wall-clock seconds before the job is stopped.
        memory_gib: memory of all the job's processes together (proportional set size), GiB.
        max_processes: processes the job may have at once (DataLoader workers count).
        output_mib: what the job may print; the rest is dropped with one line saying so.
    """

    timeout_s: float | None = None
    memory_gib: float | None = None
    max_processes: int | None = None
    output_mib: float | None = None


# Why these numbers: validation runs four images through the nets (seconds); sampling 1,000
# images per class takes minutes on a CPU; ten epochs of the slowest example team took over an
# hour on two CPU cores, so training gets half a day. 16 GiB holds the largest example team
# with eight DataLoader workers several times over; 64 processes are eight workers many times.
DEFAULTS: dict[str, Limits] = {
    "validate": Limits(timeout_s=300.0, memory_gib=8.0, max_processes=64, output_mib=8.0),
    "train": Limits(timeout_s=12 * 3600.0, memory_gib=16.0, max_processes=64, output_mib=64.0),
    "sample": Limits(timeout_s=1800.0, memory_gib=16.0, max_processes=64, output_mib=8.0),
}


def physical_memory_gib() -> float | None:
    """This machine's physical memory in GiB (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (AttributeError, OSError, ValueError):
        return None


def job_limits(
    job: str, *, timeout_s: float | None = None, memory_gib: float | None = None
) -> Limits:
    """The limits of ``job``: the defaults, with the given values in their place.

    A default memory limit never exceeds three quarters of this machine's memory (a small
    machine would swap long before 16 GiB); a value the user gives is taken as it is.

    Args:
        job: ``validate``, ``train`` or ``sample``.
        timeout_s: seconds, or None for the default; 0 turns the time limit off.
        memory_gib: GiB, or None for the default; 0 turns the memory limit off.
    """
    if job not in DEFAULTS:
        raise ValueError(f"unknown job {job!r}; one of {', '.join(JOBS)}")
    for flag, value in (("--timeout", timeout_s), ("--memory-gib", memory_gib)):
        if value is not None and not value >= 0:
            raise HarnessError(f"{flag} must be 0 (no limit) or positive, got {value:g}")
    limits = DEFAULTS[job]
    physical = physical_memory_gib()
    if limits.memory_gib is not None and physical is not None:
        limits = replace(
            limits, memory_gib=min(limits.memory_gib, physical * PHYSICAL_MEMORY_SHARE)
        )
    if timeout_s is not None:
        limits = replace(limits, timeout_s=timeout_s or None)
    if memory_gib is not None:
        limits = replace(limits, memory_gib=memory_gib or None)
    return limits
