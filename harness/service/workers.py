"""A worker: takes jobs from the queue and scores each by the same path as ``harness score``.

A job's submission folder (unpacked, read-only, named after the team) is what ``harness score
submissions/<team>`` would be handed: a code submission is first trained as ``harness train``
trains it, then every kind goes through :meth:`harness.scoring.score.Scorer.score_team`, under
the isolation and limits that command uses (strict by default). The row gets the service's
submission id and upload time and joins the board through its lock: once, because the append
first looks for that submission id, so a job retried after its worker died after appending
never makes a second row.

Whose fault a failure is decides what follows. The team's (its code raised, its samples broke
the contract: a :class:`~harness.errors.HarnessError` of the team's making) is a ``failed`` row
and a ``failed`` job with the one-line reason. The harness's (held-out data, weights, a full
disk, a broken board, any bug) gives the job back to the queue without a row, to be retried.

Where the scoring runs is the worker's setting: in this process (:class:`JobScorer`, its
Inception kept between jobs), or with ``--executor slurm`` in a Slurm job of its own
(:mod:`harness.service.slurm`), while this process keeps the lease and writes the outcome.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import traceback
from typing import Any

import sqlalchemy as sa

from harness.errors import (
    HarnessError,
)
from harness.service import queue, store
from harness.service.jobs import (  # noqa: F401  (re-exported: the worker's public names)
    INFRASTRUCTURE,
    LOG_LINES,
    JobLog,
    JobScorer,
    RetryLater,
    WorkerSettings,
    append_once,
    public_figures,
)


class Worker:
    """One worker process's loop: take a job, score it (here, or in a Slurm job of its own)
    under a heartbeat, and end it as its outcome says."""

    def __init__(
        self, engine: sa.Engine, settings: WorkerSettings, *, name: str | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._log: JobLog | None = None
        self._here = JobScorer(settings, self._say)
        self._lost = threading.Event()

    def _say(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)
        if self._log is not None:
            self._log.say(message)

    def run(self, *, stop_when_idle: bool = False, poll_s: float = 0.5, max_jobs: int = 0) -> int:
        """Take and score jobs until stopped (or, with ``stop_when_idle``, the queue is empty);
        returns how many jobs this worker ended."""
        from harness.sandbox.isolation import use_isolation

        use_isolation(self.settings.isolation)
        done = 0
        while not max_jobs or done < max_jobs:
            job = queue.claim(self.engine, self.name, lease_s=self.settings.lease_s)
            if job is None:
                if stop_when_idle:
                    return done
                time.sleep(poll_s)
                continue
            self.run_job(job)
            done += 1
        return done

    def run_job(self, job: queue.Job) -> None:
        """Score one job under a heartbeat and end it as its outcome says."""
        stop = threading.Event()
        self._lost.clear()
        beat = threading.Thread(target=self._heartbeat, args=(job, stop), daemon=True)
        beat.start()
        s = self.settings
        self._log = JobLog(job.team, s.hidden_paths())
        try:
            self._say(f"{job.team}: scoring submission {job.submission_id} (attempt {job.attempt})")
            row = self._score(job)
            row["submitted_at"] = self._submitted_at(job)
        except INFRASTRUCTURE as exc:
            self._give_back(job, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a harness bug is the harness's fault: retried, never counted
            traceback.print_exc(file=sys.stderr)
            self._give_back(job, f"internal error: {type(exc).__name__}")
            return
        finally:
            stop.set()
        try:
            on_board = append_once(row, s.board)
        except (HarnessError, OSError) as exc:
            self._give_back(job, f"the board could not take the row: {exc}")
            return
        state = queue.SCORED if on_board.get("status") == "ok" else queue.FAILED
        error = self._log.clean(str(on_board.get("error") or ""))
        queue.finish(
            self.engine,
            job,
            self.name,
            state=state,
            public=public_figures(on_board),
            error=error,
            log_tail=self._log.tail(),
        )

    def _score(self, job: queue.Job) -> dict[str, Any]:
        assert self._log is not None
        if not self.settings.on_cluster:
            return self._here.score(job, self._log)
        from harness.service.slurm import score_on_cluster

        return score_on_cluster(job, self.settings, self._log, say=self._say, lost=self._lost)

    def _give_back(self, job: queue.Job, why: str) -> None:
        assert self._log is not None
        self._say(
            f"{job.team}: not scored this time, the harness will retry: {self._log.clean(why)}"
        )
        queue.release(self.engine, job, self.name, self._log.clean(why), self._log.tail())

    def _submitted_at(self, job: queue.Job) -> str:
        with self.engine.connect() as conn:
            at = conn.execute(
                sa.select(store.submissions.c.submitted_at).where(
                    store.submissions.c.id == job.submission_id
                )
            ).scalar_one()
        return store.aware(at).replace(microsecond=0).isoformat()  # type: ignore[union-attr]

    def _heartbeat(self, job: queue.Job, stop: threading.Event) -> None:
        interval = self.settings.lease_s / 3
        while not stop.wait(interval):
            try:
                if not queue.heartbeat(self.engine, job, self.name, lease_s=self.settings.lease_s):
                    self._say(f"{job.team}: lease lost; another worker may score it")
                    self._lost.set()
                    return
            except sa.exc.SQLAlchemyError as exc:
                print(f"heartbeat failed: {exc}", file=sys.stderr)
