"""Jobs on a Slurm cluster through submitit, or as local processes through submitit's local
executor (the same pickled jobs; how the tests and a dry run exercise this path).

Many tasks become one job array (``--array=0-N%K``: at most ``--jobs`` running at once). The
submitting process prints the job ids, then polls: each finished job's outcome is handed on
at once, and a summary line is printed whenever the counts of pending, running and done jobs
change. Ctrl-C cancels the jobs that have not finished (a training job then saves a
checkpoint on the SIGTERM Slurm sends) and says how to resume.

What a job needs on its node: the same Python environment with the harness installed and
every path it is given (data, submissions, runs, cache, weights, leaderboard spool) on a
filesystem that the node mounts at the same place. Slurm passes the submitting shell's
environment to the job by default; the paths travel in the task itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.scale.plan import ScaleSettings, SlurmOptions

Outcome = dict[str, Any]
POLL_S = {"slurm": 10.0, "local": 0.5}


def job_folder(options: SlurmOptions, default: Path) -> Path:
    """Where submitit keeps this submission's scripts, pickles and logs (``%j``: per job)."""
    return Path(options.folder or default).resolve() / "%j"


def make_executor(settings: ScaleSettings, folder: Path, name: str, count: int) -> Any:
    """A submitit executor for ``settings`` (``slurm`` or ``local``), parameters set."""
    import submitit

    options = settings.slurm
    executor = submitit.AutoExecutor(folder=folder, cluster=settings.cluster)
    params: dict[str, Any] = {
        "name": name,
        "timeout_min": options.time_limit_min,
        "tasks_per_node": 1,
        "nodes": 1,
        "slurm_array_parallelism": min(settings.jobs, max(count, 1)),
    }
    if options.gpus_per_job:
        # Left out for CPU jobs: clusters without GPU resources may refuse even a zero.
        params["gpus_per_node"] = options.gpus_per_job
    if options.cpus_per_job is not None:
        params["cpus_per_task"] = options.cpus_per_job
    if options.partition is not None:
        params["slurm_partition"] = options.partition
    if options.extra:
        params["slurm_additional_parameters"] = dict(options.extra)
    executor.update_parameters(**params)
    return executor


def first_line(exc: BaseException) -> str:
    """The line of a failed job's error that names it (submitit's carry the job's traceback)."""
    text = str(exc).strip().splitlines()
    # submitit's FailedJobError carries the job's traceback; its last line names the error.
    return (text[-1] if text else type(exc).__name__)[:300]


def run_submitit(
    fn: Callable[[Any], Outcome],
    tasks: Sequence[Any],
    *,
    labels: Sequence[str],
    settings: ScaleSettings,
    assign: Callable[[Any, str, int | None], Any],
    failed: Callable[[int, str], Outcome],
    on_done: Callable[[int, Outcome], None],
    say: Callable[[str], None],
    name: str,
    default_folder: Path = Path("slurm-jobs"),
) -> list[Outcome]:
    """Submit one job per task (an array), wait with progress, return outcomes in order."""
    cluster = settings.cluster or "local"
    folder = job_folder(settings.slurm, default_folder)
    executor = make_executor(settings, folder, name, len(tasks))
    threads = settings.slurm.cpus_per_job
    jobs = executor.map_array(fn, [assign(t, "auto", threads) for t in tasks])
    what = "Slurm" if cluster == "slurm" else "submitit local"
    say(f"submitted {len(jobs)} {what} job(s); logs under {folder.parent}")
    for label, job in zip(labels, jobs, strict=True):
        say(f"  {label}: job {job.job_id}")
    outcomes: dict[int, Outcome] = {}
    last_counts = None
    try:
        while len(outcomes) < len(jobs):
            for index, job in enumerate(jobs):
                if index in outcomes or not job.done():
                    continue
                try:
                    outcome = job.result()
                except Exception as exc:  # the job died: time limit, node lost, cancelled
                    outcome = failed(
                        index,
                        f"job {job.job_id} failed: {first_line(exc)} (log: {job.paths.stderr})",
                    )
                outcomes[index] = outcome
                on_done(index, outcome)
            states = [job.state for i, job in enumerate(jobs) if i not in outcomes]
            counts = (
                len(outcomes),
                sum(s == "RUNNING" for s in states),
                sum(s != "RUNNING" for s in states),
            )
            if counts != last_counts and len(outcomes) < len(jobs):
                say(f"jobs: {counts[0]} done, {counts[1]} running, {counts[2]} waiting")
                last_counts = counts
            if len(outcomes) < len(jobs):
                time.sleep(POLL_S[cluster])
    except KeyboardInterrupt:
        left = [job for i, job in enumerate(jobs) if i not in outcomes]
        for job in left:
            job.cancel(check=False)
        say(
            f"cancelled {len(left)} job(s): {' '.join(str(j.job_id) for j in left)}; training "
            "jobs saved a checkpoint (resume a team with `harness train TEAM --resume latest`)"
        )
        raise
    return [outcomes[i] for i in range(len(jobs))]
