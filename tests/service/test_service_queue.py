"""The queue's promises, on SQLite and on a real PostgreSQL: a job is taken by one worker only,
an expired lease comes back with its attempt count, a result is written once, and a failure of
the harness never counts against a team's daily limit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.service import intake, queue, store, tokens
from harness.settings.competition import Competition


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'q.sqlite3'}"
    return str(request.getfixturevalue("fresh_postgres"))


def _enqueue(engine: sa.Engine, team: str, count: int) -> list[str]:
    ids = []
    with engine.begin() as conn:
        if not conn.execute(sa.select(store.teams).where(store.teams.c.name == team)).first():
            conn.execute(
                store.teams.insert().values(name=team, organiser=False, created_at=store.utc_now())
            )
        for i in range(count):
            sid = f"{team[:4]}{i:04d}"
            conn.execute(
                store.submissions.insert().values(
                    id=sid,
                    team=team,
                    archive_sha256="0" * 64,
                    kind="samples",
                    size_bytes=1,
                    submitted_at=store.utc_now(),
                )
            )
            conn.execute(
                store.jobs.insert().values(
                    submission_id=sid, state=queue.QUEUED, attempts=0, queued_at=store.utc_now()
                )
            )
            ids.append(sid)
    return ids


TAKER = """
import sys
from harness.service import queue, store
engine = store.connect(sys.argv[1])
while (job := queue.claim(engine, sys.argv[2])) is not None:
    print(job.submission_id, flush=True)
    queue.finish(engine, job, sys.argv[2], state=queue.SCORED, public={"score": 1.0})
"""


def test_concurrent_worker_processes_take_each_job_exactly_once(url: str) -> None:
    engine = store.connect(url)
    ids = _enqueue(engine, "team1", 60)
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, url, f"w{i}"], stdout=subprocess.PIPE, text=True
        )
        for i in range(4)
    ]
    taken = [
        line.strip() for proc in takers for line in proc.communicate(timeout=120)[0].splitlines()
    ]
    assert all(proc.returncode == 0 for proc in takers)
    assert sorted(taken) == sorted(ids)  # every job once, none twice
    assert queue.counts(engine)[queue.SCORED] == 60
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(store.results)).scalar_one() == 60
        )


def test_an_expired_lease_returns_the_job_with_its_attempt_count(url: str) -> None:
    engine = store.connect(url)
    (sid,) = _enqueue(engine, "team2", 1)
    first = queue.claim(engine, "dead-worker", lease_s=0.01)
    assert first is not None and first.attempt == 1
    time.sleep(0.05)  # past the lease, however fast the machine
    assert queue.claim(engine, "other", lease_s=60) is not None  # taken again once expired
    with engine.connect() as conn:
        attempts, owner = conn.execute(
            sa.select(store.jobs.c.attempts, store.jobs.c.lease_owner)
        ).one()
    assert (attempts, owner) == (2, "other")
    # The first worker comes back: it can neither heartbeat nor end the job it lost.
    assert not queue.heartbeat(engine, first, "dead-worker")
    assert not queue.finish(engine, first, "dead-worker", state=queue.SCORED, public={"score": 9})
    second = queue.Job(id=first.id, submission_id=sid, team="team2", kind="samples", attempt=2)
    assert queue.finish(engine, second, "other", state=queue.SCORED, public={"score": 1})
    assert not queue.finish(engine, second, "other", state=queue.SCORED, public={"score": 2})
    with engine.connect() as conn:
        stored = conn.execute(sa.select(store.results.c.public_json)).scalars().all()
        kinds = (
            conn.execute(sa.select(store.events.c.kind).order_by(store.events.c.id)).scalars().all()
        )
    assert stored == ['{"score": 1}']
    assert "lease-expired" in kinds


def test_a_harness_failure_is_retried_then_failed_without_counting_against_the_team(
    url: str,
) -> None:
    engine = store.connect(url)
    _enqueue(engine, "team3", 1)
    rules = Competition(daily_submissions=1)
    for attempt in range(1, queue.MAX_ATTEMPTS + 1):
        job = queue.claim(engine, "w")
        assert job is not None and job.attempt == attempt
        with engine.connect() as conn:  # queued or running counts: the team used its one
            assert "daily_submissions" in (intake.rule_refusal(conn, "team3", rules) or "")
        queue.release(engine, job, "w", "OSError: no space left on device")
    assert queue.claim(engine, "w") is None
    with engine.connect() as conn:
        state, error = conn.execute(sa.select(store.jobs.c.state, store.jobs.c.error)).one()
        assert intake.rule_refusal(conn, "team3", rules) is None  # the harness's failure is free
    assert state == queue.FAILED
    assert "does not count against the team's daily limit" in error


def test_tokens_are_stored_as_hashes_and_revocation_and_rotation_work(url: str) -> None:
    engine = store.connect(url)
    token = tokens.add_team(engine, "team4")
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    with engine.connect() as conn:
        stored = conn.execute(sa.select(store.tokens.c.sha256)).scalars().all()
        assert token not in stored and tokens.token_hash(token) in stored
        assert tokens.identify(conn, token).team == "team4"
    new = tokens.rotate(engine, "team4")
    with engine.connect() as conn:
        with pytest.raises(tokens.AuthError, match="revoked"):
            tokens.identify(conn, token)
        assert tokens.identify(conn, new).team == "team4"
        with pytest.raises(tokens.AuthError, match="unknown token"):
            tokens.identify(conn, new[:-2] + "xx")
    tokens.revoke(engine, "team4")
    with engine.connect() as conn, pytest.raises(tokens.AuthError, match="revoked"):
        tokens.identify(conn, new)


def test_the_schema_carries_a_version_and_a_newer_one_is_refused(url: str) -> None:
    engine = store.connect(url)
    with engine.begin() as conn:
        assert (
            conn.execute(sa.select(store.schema_version.c.version)).scalar_one()
            == store.SCHEMA_VERSION
        )
        conn.execute(store.schema_version.update().values(version=store.SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(Exception, match="newer than this harness"):
        store.connect(url)
