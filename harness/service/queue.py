"""The queue is the ``jobs`` table: queued -> running -> scored | failed.

A worker takes the oldest queued job with one statement: on PostgreSQL the candidate row is
chosen ``FOR UPDATE SKIP LOCKED`` (as procrastinate does), so two workers never take the same
job and neither waits on the other; on SQLite the same ``UPDATE ... WHERE state='queued' AND
id=(SELECT ...)`` runs inside ``BEGIN IMMEDIATE`` (see :mod:`.store`), which serialises takers.
A taken job carries a lease (owner and expiry) that the worker's heartbeat extends; a job whose
lease ran out (its worker was killed, its machine lost) goes back to the queue with its attempt
count, and is failed as the harness's fault after :data:`MAX_ATTEMPTS`, never the team's.
Every change of state is conditioned on the lease still being the caller's, so a worker that
lost its lease cannot overwrite what the next one did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from harness.service import store

QUEUED = "queued"
RUNNING = "running"
SCORED = "scored"
FAILED = "failed"
STATES: tuple[str, ...] = (QUEUED, RUNNING, SCORED, FAILED)
MAX_ATTEMPTS = 3
LEASE_S = 60.0


@dataclass(frozen=True)
class Job:
    """A job a worker holds: its id, submission, team and attempt number."""

    id: int
    submission_id: str
    team: str
    kind: str
    attempt: int


def requeue_expired(conn: sa.Connection, now: datetime | None = None) -> int:
    """Put running jobs whose lease has expired back in the queue (or fail them as the
    harness's fault after :data:`MAX_ATTEMPTS`); returns how many were requeued."""
    now = now or store.utc_now()
    j = store.jobs
    expired = conn.execute(
        sa.select(j.c.id, j.c.submission_id, j.c.attempts, j.c.lease_owner).where(
            j.c.state == RUNNING, j.c.lease_expires < now
        )
    ).all()
    for job_id, sid, attempts, owner in expired:
        last = attempts >= MAX_ATTEMPTS
        conn.execute(
            j.update()
            .where(j.c.id == job_id, j.c.state == RUNNING, j.c.lease_owner == owner)
            .values(
                state=FAILED if last else QUEUED,
                lease_owner=None,
                lease_expires=None,
                finished_at=now if last else None,
                error=(
                    f"the harness could not score it in {attempts} attempts (its worker stopped); "
                    "this does not count against the team's daily limit"
                    if last
                    else None
                ),
            )
        )
        store.record_event(
            conn, "lease-expired", submission_id=sid, detail=f"worker {owner}, attempt {attempts}"
        )
    return len(expired)


def claim(engine: sa.Engine, worker: str, *, lease_s: float = LEASE_S) -> Job | None:
    """Take the oldest queued job for ``worker``, or None when the queue is empty."""
    j, s = store.jobs, store.submissions
    with engine.begin() as conn:
        now = store.utc_now()
        requeue_expired(conn, now)
        candidate = (
            sa.select(j.c.id)
            .where(j.c.state == QUEUED)
            .order_by(j.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        taken = conn.execute(
            j.update()
            .where(j.c.id == candidate, j.c.state == QUEUED)
            .values(
                state=RUNNING,
                lease_owner=worker,
                lease_expires=now + timedelta(seconds=lease_s),
                attempts=j.c.attempts + 1,
                started_at=now,
            )
            .returning(j.c.id, j.c.submission_id, j.c.attempts)
        ).first()
        if taken is None:
            return None
        team, kind = conn.execute(sa.select(s.c.team, s.c.kind).where(s.c.id == taken[1])).one()
        store.record_event(
            conn, "taken", team=team, submission_id=taken[1], detail=f"{worker} #{taken[2]}"
        )
        return Job(id=taken[0], submission_id=taken[1], team=team, kind=kind, attempt=taken[2])


def heartbeat(engine: sa.Engine, job: Job, worker: str, *, lease_s: float = LEASE_S) -> bool:
    """Extend the lease; False when it is no longer this worker's (it expired and was retaken)."""
    j = store.jobs
    with engine.begin() as conn:
        done = conn.execute(
            j.update()
            .where(j.c.id == job.id, j.c.state == RUNNING, j.c.lease_owner == worker)
            .values(lease_expires=store.utc_now() + timedelta(seconds=lease_s))
        ).rowcount
    return bool(done)


def finish(
    engine: sa.Engine,
    job: Job,
    worker: str,
    *,
    state: str,
    public: dict[str, Any] | None,
    error: str = "",
    log_tail: str = "",
) -> bool:
    """End a job as ``scored`` or ``failed`` (the team's fault) and store its public result once.

    The result is keyed by the submission id: a second writer (a retried job whose first worker
    came back) finds it there and writes nothing. Returns whether this call ended the job.
    """
    j, r = store.jobs, store.results
    with engine.begin() as conn:
        now = store.utc_now()
        ended = conn.execute(
            j.update()
            .where(j.c.id == job.id, j.c.state == RUNNING, j.c.lease_owner == worker)
            .values(
                state=state,
                finished_at=now,
                lease_owner=None,
                lease_expires=None,
                error=error or None,
                log_tail=log_tail,
            )
        ).rowcount
        if not ended:
            return False
        if (
            public is not None
            and not conn.execute(
                sa.select(r.c.submission_id).where(r.c.submission_id == job.submission_id)
            ).first()
        ):
            conn.execute(
                r.insert().values(
                    submission_id=job.submission_id,
                    status=state,
                    public_json=json.dumps(public, default=str),
                    written_at=now,
                )
            )
        store.record_event(
            conn, state, team=job.team, submission_id=job.submission_id, detail=error
        )
        return True


def release(engine: sa.Engine, job: Job, worker: str, why: str, log_tail: str = "") -> None:
    """Give a job back after an infrastructure failure: queued again (or, past
    :data:`MAX_ATTEMPTS`, failed as the harness's fault, which never counts against the team)."""
    j = store.jobs
    with engine.begin() as conn:
        last = job.attempt >= MAX_ATTEMPTS
        conn.execute(
            j.update()
            .where(j.c.id == job.id, j.c.state == RUNNING, j.c.lease_owner == worker)
            .values(
                state=FAILED if last else QUEUED,
                lease_owner=None,
                lease_expires=None,
                finished_at=store.utc_now() if last else None,
                error=(
                    f"the harness could not score it ({why}); this does not count against the "
                    "team's daily limit"
                    if last
                    else None
                ),
                log_tail=log_tail,
            )
        )
        store.record_event(
            conn,
            "infrastructure-failure",
            team=job.team,
            submission_id=job.submission_id,
            detail=why,
        )


def position(conn: sa.Connection, job_id: int) -> int:
    """How many queued jobs are ahead of this one (0: next)."""
    j = store.jobs
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(j.c.state == QUEUED, j.c.id < job_id)
        ).scalar_one()
    )


def counts(engine: sa.Engine) -> dict[str, int]:
    """Jobs per state (for the organiser and for tests)."""
    j = store.jobs
    with engine.connect() as conn:
        found = dict(conn.execute(sa.select(j.c.state, sa.func.count()).group_by(j.c.state)).all())
    return {state: int(found.get(state, 0)) for state in STATES}
