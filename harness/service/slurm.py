"""A service job scored in a Slurm job of its own (``harness worker --executor slurm``).

The worker that took the job from the queue stays its owner: it submits one submitit job,
keeps the lease alive with its heartbeat while the Slurm job waits and runs, and does what a
worker does with the outcome (the board row through its lock, the job's end in the database).
The node therefore needs the data, the state folder and the harness's environment on the
shared filesystem, but no access to the database.

Whose fault a failure is follows the same rule as in a local worker. A team's failure comes
back as a ``failed`` row from the node. A Slurm job that ends without an outcome (killed,
cancelled, out of time or memory, its node lost) or with a harness fault is the
infrastructure's: :class:`~harness.service.jobs.RetryLater`, so the job goes back to the
queue and is never counted against the team. A worker that loses its lease (it was too slow
to renew it) cancels its Slurm job: another worker has the job by then.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Any

from harness.scale.slurm import first_line
from harness.service import queue, store
from harness.service.jobs import INFRASTRUCTURE, JobLog, JobScorer, RetryLater, WorkerSettings

JOB_NAME = "harness-service"
# Slurm states after which a job that left no result will never leave one.
ENDED = {"FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
ENDED |= {"INTERRUPTED"}  # submitit-local's name for a killed process


@dataclass(frozen=True)
class NodeTask:
    """What the Slurm job is handed: the worker's settings (scored here: no cluster), the job,
    and the environment a scale-out job gets (cache, weights, threads)."""

    settings: WorkerSettings
    job: queue.Job
    env: dict[str, str] = field(default_factory=dict)


def score_on_node(task: NodeTask) -> dict[str, Any]:
    """Run on the node: score the job as a local worker would. Returns ``{"row", "log"}``, or
    ``{"retry", "log"}`` for an infrastructure fault (which the worker turns into a retry)."""
    os.environ.update(task.env)
    from harness.sandbox.isolation import use_isolation

    use_isolation(task.settings.isolation)
    log = JobLog(task.job.team, task.settings.hidden_paths())

    def say(message: str) -> None:
        print(message, flush=True)
        log.say(message)

    try:
        row = JobScorer(task.settings, say).score(task.job, log)
    except INFRASTRUCTURE as exc:
        return {"retry": f"{type(exc).__name__}: {exc}", "log": log.lines}
    return {"row": row, "log": log.lines}


def _folder(settings: WorkerSettings) -> Path:
    base = settings.scale.slurm.folder or store.State(settings.state).runs / ".submitit"
    return Path(base).resolve() / "%j"


def submit(job: queue.Job, settings: WorkerSettings) -> Any:
    """Hand the job to Slurm (or submitit's local executor); returns the submitit job."""
    from dataclasses import replace

    from harness.scale.slurm import make_executor
    from harness.scale.tasks import job_environment

    executor = make_executor(settings.scale, _folder(settings), JOB_NAME, 1)
    task = NodeTask(
        settings=replace(settings, scale=None),
        job=job,
        env=job_environment(settings.scale.slurm.cpus_per_job),
    )
    try:
        return executor.submit(score_on_node, task)
    except Exception as exc:  # sbatch refused or the cluster is down: the harness's fault
        raise RetryLater(f"the Slurm job could not be submitted: {first_line(exc)}") from None


def wait(slurm_job: Any, *, poll_s: float, lost: Event) -> dict[str, Any]:
    """The Slurm job's outcome once it has ended.

    Raises:
        RetryLater: the job ended without an outcome, raised (a harness fault on the node), or
            this worker lost its lease (then the job is cancelled).
    """
    while not slurm_job.paths.result_pickle.exists():
        if lost.is_set():
            slurm_job.cancel(check=False)
            raise RetryLater(f"the lease was lost; Slurm job {slurm_job.job_id} cancelled")
        if slurm_job.done(force_check=True):
            state = slurm_job.state.split()[0] if slurm_job.state else "UNKNOWN"
            if state.upper() in ENDED:  # no result will come: do not wait for one
                raise RetryLater(f"Slurm job {slurm_job.job_id} ended {state} without a result")
            break  # completed: its result may still be reaching this machine's view of the disk
        time.sleep(poll_s)
    try:
        return slurm_job.result()  # type: ignore[no-any-return]
    except Exception as exc:  # died, or a harness fault raised on the node
        raise RetryLater(f"Slurm job {slurm_job.job_id} failed: {first_line(exc)}") from None


def score_on_cluster(
    job: queue.Job,
    settings: WorkerSettings,
    log: JobLog,
    *,
    say: Callable[[str], None],
    lost: Event,
) -> dict[str, Any]:
    """Score ``job`` in a Slurm job and return its row; the node's lines join the job's log."""
    slurm_job = submit(job, settings)
    say(f"{job.team}: handed to Slurm as job {slurm_job.job_id}")
    outcome = wait(slurm_job, poll_s=settings.poll_s, lost=lost)
    log.extend(outcome.get("log", []))
    if "retry" in outcome:
        raise RetryLater(outcome["retry"])
    return outcome["row"]  # type: ignore[no-any-return]
