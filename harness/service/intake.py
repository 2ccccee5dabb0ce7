"""Accepting a submission: refuse early with one line, or store it and queue its job at once.

The order of writes makes a crash at any point harmless: the archive is streamed to a temporary
file and renamed to its content address, unpacked into a new temporary folder that is renamed
into place when its checks pass, and only then are the submission and its job inserted, in one
transaction. A server killed before that commit leaves files that no row names (swept by
:func:`sweep_orphans` on the next start) and nothing a team or a worker can see; after it, the
submission is whole and queued.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from harness.board.rules import refusal
from harness.scoring.submission import new_submission_id
from harness.service import queue, store
from harness.service.uploads import Caps, UploadRefused, check_folder, freeze, unpack
from harness.settings.competition import Competition

COUNTED = (queue.QUEUED, queue.RUNNING, queue.SCORED)  # a failure costs the team nothing


@dataclass(frozen=True)
class Accepted:
    """What the team is told at once."""

    submission_id: str
    kind: str
    archive_sha256: str
    size_bytes: int


def rule_refusal(
    conn: sa.Connection, team: str, competition: Competition, now: datetime | None = None
) -> str | None:
    """Why ``team`` may not submit now (deadline, daily limit), by the board's own rules."""
    s, j = store.submissions, store.jobs
    rows = conn.execute(
        sa.select(s.c.submitted_at)
        .join(j, j.c.submission_id == s.c.id)
        .where(s.c.team == team, j.c.state.in_(COUNTED))
    ).scalars()
    table = pd.DataFrame(
        [
            {"team": team, "status": "ok", "submitted_at": store.aware(at).isoformat()}  # type: ignore[union-attr]
            for at in rows
        ],
        columns=["team", "status", "submitted_at"],
    )
    why = refusal(table, team, competition, now or datetime.now(timezone.utc))
    return why.replace("not scored", "not accepted") if why else None


def refusal_status(why: str) -> int:
    """403 after the deadline, 429 over the daily limit."""
    return 429 if "daily_submissions" in why else 403


async def receive(
    body: AsyncIterator[bytes], state: store.State, caps: Caps
) -> tuple[Path, str, int]:
    """Stream an upload to a temporary file under the cap; returns (path, sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    fd_path = state.tmp / f"upload-{os.getpid()}-{new_submission_id()}.part"
    try:
        with open(fd_path, "xb") as out:
            async for chunk in body:
                size += len(chunk)
                if size > caps.archive_bytes:
                    raise UploadRefused(
                        f"the upload is over the size limit of {caps.archive_bytes // 2**20} MiB",
                        413,
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        fd_path.unlink(missing_ok=True)
        raise
    if size == 0:
        fd_path.unlink(missing_ok=True)
        raise UploadRefused("the upload is empty; `harness submit FOLDER` packs a team folder")
    return fd_path, digest.hexdigest(), size


def accept(
    engine: sa.Engine,
    state: store.State,
    team: str,
    part: Path,
    sha256: str,
    size: int,
    competition: Competition,
    caps: Caps,
) -> Accepted:
    """Store a received archive by content, unpack and check it, and queue its job.

    Raises:
        UploadRefused: the archive, its layout or the rules refuse it (one line).
    """
    archive = state.archives / f"{sha256}.tar"
    if archive.exists():
        part.unlink()
    else:
        os.replace(part, archive)
        os.chmod(archive, 0o400)
    sid = new_submission_id()
    scratch = state.tmp / f"unpack-{sid}"
    try:
        scratch.mkdir(mode=0o700)
        folder = scratch / team
        unpack(archive, folder, caps)
        kind = check_folder(
            folder, n_per_class=competition.n_per_class, image_size=competition.image_size
        )
        freeze(folder)
        os.replace(scratch, state.unpacked / sid)
    except BaseException:
        _remove(scratch)
        raise
    try:
        with engine.begin() as conn:
            _lock_team(conn, team)
            why = rule_refusal(conn, team, competition)
            if why:
                raise UploadRefused(why, refusal_status(why))
            now = store.utc_now()
            conn.execute(
                store.submissions.insert().values(
                    id=sid,
                    team=team,
                    archive_sha256=sha256,
                    kind=kind,
                    size_bytes=size,
                    submitted_at=now,
                )
            )
            conn.execute(
                store.jobs.insert().values(
                    submission_id=sid, state=queue.QUEUED, attempts=0, queued_at=now
                )
            )
            store.record_event(conn, "accepted", team=team, submission_id=sid, detail=kind)
    except BaseException:
        _remove(state.unpacked / sid)
        raise
    return Accepted(submission_id=sid, kind=kind, archive_sha256=sha256, size_bytes=size)


def _lock_team(conn: sa.Connection, team: str) -> None:
    """Serialise acceptances of one team, so two uploads at once cannot both pass the limit
    (PostgreSQL: a row lock; SQLite: BEGIN IMMEDIATE already holds the write lock)."""
    conn.execute(sa.select(store.teams.c.name).where(store.teams.c.name == team).with_for_update())


def _remove(folder: Path) -> None:
    if not folder.exists():
        return
    for root, dirs, _files in os.walk(folder):
        os.chmod(root, 0o700)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
    shutil.rmtree(folder, ignore_errors=True)


def sweep_orphans(engine: sa.Engine, state: store.State) -> int:
    """Remove what a killed server left half-done: temporary files, and unpacked folders that
    no submission row names. Returns how many were removed."""
    removed = 0
    for path in state.tmp.iterdir():
        _remove(path) if path.is_dir() else path.unlink(missing_ok=True)
        removed += 1
    with engine.connect() as conn:
        known = set(conn.execute(sa.select(store.submissions.c.id)).scalars())
    for path in state.unpacked.iterdir():
        if path.name not in known:
            _remove(path)
            removed += 1
    return removed
