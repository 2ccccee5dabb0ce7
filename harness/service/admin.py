"""What the organiser does to a running round: re-queue a job, disqualify a submission, publish
the final board. Each is a small function over the store and the board's files, so the pages
(and any later API route) share one rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from harness.errors import HarnessError
from harness.service import queue, store

PUBLISHED = "final-published"  # a file in the state folder: the final board may be shown


def requeue(engine: sa.Engine, submission_id: str) -> None:
    """Put a failed job back in the queue with its attempts reset (its old result forgotten).

    Raises:
        HarnessError: no such submission, or its job is not failed (one line).
    """
    j = store.jobs
    with engine.begin() as conn:
        done = conn.execute(
            j.update()
            .where(j.c.submission_id == submission_id, j.c.state == queue.FAILED)
            .values(
                state=queue.QUEUED,
                attempts=0,
                error=None,
                log_tail=None,
                finished_at=None,
                started_at=None,
                queued_at=store.utc_now(),
            )
        ).rowcount
        if not done:
            raise HarnessError(
                f"no failed job for submission {submission_id!r}; only a failed one is re-queued"
            )
        conn.execute(store.results.delete().where(store.results.c.submission_id == submission_id))
        store.record_event(conn, "requeued", submission_id=submission_id, detail="by the organiser")


def disqualify(engine: sa.Engine, board: Path, submission_id: str, reason: str) -> str:
    """Mark a submission disqualified (kept, off every board); returns its team.

    Raises:
        HarnessError: no such submission, or no reason given.
    """
    from harness.board.disqualified import record_disqualified

    reason = " ".join(reason.split())[:300]
    if not reason:
        raise HarnessError("give a reason for the disqualification; teams read it")
    with engine.begin() as conn:
        team = conn.execute(
            sa.select(store.submissions.c.team).where(store.submissions.c.id == submission_id)
        ).scalar()
        if team is None:
            raise HarnessError(f"no submission {submission_id!r}")
        store.record_event(
            conn, "disqualified", team=team, submission_id=submission_id, detail=reason
        )
    record_disqualified(board, submission_id, team, reason)
    return str(team)


def published(state: store.State) -> bool:
    """Whether the organiser has published the final board."""
    return (state.root / PUBLISHED).is_file()


def publish(state: store.State, board: Path, k: int, closed: str | None) -> None:
    """Check that the final board can be built, then mark it published (the site shows it).

    Raises:
        HarnessError: before the deadline, or no row was scored with a public/private split.
    """
    from harness.board import leaderboard
    from harness.board.boards import private_board
    from harness.board.disqualified import drop_disqualified
    from harness.board.selections import read_selections

    if not closed:
        raise HarnessError(
            "the final board is built after the deadline (deadline in competition.toml)"
        )
    table = drop_disqualified(leaderboard.read(board), board)
    private_board(table, read_selections(board), k=k)  # raises when it cannot be built
    (state.root / PUBLISHED).write_text(store.utc_now().isoformat() + "\n")


def all_jobs(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every job with its team, state, queue position, error, log tail and audit lines."""
    j, s, e = store.jobs, store.submissions, store.events
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                j.c.id,
                s.c.id.label("submission_id"),
                s.c.team,
                s.c.kind,
                s.c.submitted_at,
                j.c.state,
                j.c.attempts,
                j.c.lease_owner,
                j.c.error,
                j.c.log_tail,
            )
            .join(s, s.c.id == j.c.submission_id)
            .order_by(j.c.id)
        ).all()
        queued = sorted(r.id for r in rows if r.state == queue.QUEUED)
        failed = [r.submission_id for r in rows if r.state == queue.FAILED]
        events: dict[str, list[str]] = {}
        if failed:
            for sid, at, kind, detail in conn.execute(
                sa.select(e.c.submission_id, e.c.at, e.c.kind, e.c.detail)
                .where(e.c.submission_id.in_(failed))
                .order_by(e.c.id)
            ):
                events.setdefault(sid, []).append(
                    f"{store.aware(at).isoformat()} {kind} {detail or ''}".rstrip()  # type: ignore[union-attr]
                )
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["submitted_at"] = store.aware(r.submitted_at).isoformat()  # type: ignore[union-attr]
        item["queue_position"] = queued.index(r.id) if r.state == queue.QUEUED else None
        item["events"] = events.get(r.submission_id, [])
        out.append(item)
    return out
