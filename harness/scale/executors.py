"""Running a list of jobs: in this process, K at a time in local processes, or on Slurm.

:func:`run_jobs` is the one entry point. Whichever executor runs them, each finished job's
outcome is handed to ``on_done`` as soon as it exists (the caller prints it and merges its
leaderboard row), and a job that dies without an outcome (killed, out of memory, a node lost)
becomes a ``failed`` outcome from ``failed``, never a stopped round.

- ``local`` with one job: in this process, one after another (exactly a sequential run).
- ``local`` with K jobs: a spawn process pool of K workers, a fresh process per job; slot
  ``s`` runs on ``settings.device_of_slot(s)`` and its CPU work gets ``threads`` threads.
- ``slurm`` / ``submitit-local``: one submitit job per task, submitted as one array; see
  :mod:`harness.scale.slurm`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from harness.scale.plan import ScaleSettings

Outcome = dict[str, Any]
Assign = Callable[[Any, str, int | None], Any]


def local_threads(settings: ScaleSettings) -> int:
    """Each local job's share of this machine's cores (at least one)."""
    from harness.device import cpu_threads

    return max(1, cpu_threads() // settings.jobs)


def run_jobs(
    fn: Callable[[Any], Outcome],
    tasks: Sequence[Any],
    *,
    labels: Sequence[str],
    settings: ScaleSettings,
    assign: Assign,
    failed: Callable[[int, str], Outcome],
    on_done: Callable[[int, Outcome], None],
    say: Callable[[str], None],
    name: str,
) -> list[Outcome]:
    """Run ``fn(task)`` for every task and return the outcomes in task order.

    Args:
        fn: a module-level job function (picklable by reference).
        tasks: one frozen task per team (or worker).
        labels: a short name per task, for progress lines.
        settings: jobs, devices and executor.
        assign: ``assign(task, device, threads)`` gives the task for a local slot (``threads``
            None: leave the thread count to the job's own machine).
        failed: ``failed(index, error)``: the outcome of a job that died without one.
        on_done: called with each outcome as soon as it exists.
        say: progress messages (stderr).
        name: the job name on the cluster (``harness-train``...).
    """
    if settings.cluster is not None:
        from harness.scale.slurm import run_submitit

        return run_submitit(
            fn,
            tasks,
            labels=labels,
            settings=settings,
            assign=assign,
            failed=failed,
            on_done=on_done,
            say=say,
            name=name,
        )
    if settings.jobs == 1:
        outcomes = []
        for index, task in enumerate(tasks):
            outcome = fn(assign(task, settings.device_of_slot(0), None))
            on_done(index, outcome)
            outcomes.append(outcome)
        return outcomes
    return _run_pool(fn, tasks, labels, settings, assign, failed, on_done, say)


def _run_pool(
    fn: Callable[[Any], Outcome],
    tasks: Sequence[Any],
    labels: Sequence[str],
    settings: ScaleSettings,
    assign: Assign,
    failed: Callable[[int, str], Outcome],
    on_done: Callable[[int, Outcome], None],
    say: Callable[[str], None],
) -> list[Outcome]:
    import multiprocessing

    threads = local_threads(settings)
    workers = min(settings.jobs, len(tasks))
    say(
        f"running {len(tasks)} job(s), {workers} at a time on this machine "
        f"({', '.join(settings.device_of_slot(s) for s in range(workers))}; "
        f"{threads} CPU thread(s) each)"
    )
    outcomes: dict[int, Outcome] = {}
    waiting = collections.deque(enumerate(tasks))
    free_slots = list(range(workers))
    running: dict[Future[Outcome], tuple[int, int]] = {}
    context = multiprocessing.get_context("spawn")
    # A fresh process per job: torch's thread count and CUDA context are per process.
    pool = ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=1)
    try:
        while waiting or running:
            while waiting and free_slots:
                slot = free_slots.pop(0)
                index, task = waiting.popleft()
                device = settings.device_of_slot(slot)
                say(f"{labels[index]}: started on {device} (slot {slot})")
                running[pool.submit(fn, assign(task, device, threads))] = (index, slot)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, slot = running.pop(future)
                free_slots.append(slot)
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died (killed, out of memory)
                    outcome = failed(index, f"job process failed: {type(exc).__name__}: {exc}")
                outcomes[index] = outcome
                on_done(index, outcome)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [outcomes[i] for i in range(len(tasks))]
