"""The service for real: a uvicorn server on a loopback port, httpx clients, worker processes.

A burst of concurrent uploads ends with every request accepted or refused with a reason, the
database and the state folder agreeing, and every accepted submission scored exactly once
(one job, one result, one board row). A worker killed with SIGKILL mid-job and a server killed
mid-upload lose nothing that was accepted and leave nothing half-written in view.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd
import sqlalchemy as sa

from harness.service import queue, store
from harness.service.uploads import pack
from tests.service.conftest import N, World, write_samples

TEAMS, EACH = 30, 5
# The burst tests the intake and the queue, not the metrics (the other tests here score for
# real): its competition asks for 6 samples per class (half the other tests' 12), two workers
# race for every job, and each scores its first job for real and reuses that row for the rest
# (tests/service/fast_scoring.py), so the queue, the board's append and the results are real.
BURST_N, BURST_WORKERS = 6, 2


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait_until_done(world: World, expected: int, timeout_s: float = 150) -> dict[str, int]:
    engine = store.connect(world.db)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = queue.counts(engine)
        if counts[queue.SCORED] + counts[queue.FAILED] >= expected:
            return counts
        time.sleep(0.5)
    raise AssertionError(f"jobs not done in {timeout_s} s: {queue.counts(engine)}")


def _board(world: World) -> pd.DataFrame:
    from harness.board import leaderboard

    return leaderboard.read(world.board)


def test_a_burst_of_uploads_is_accepted_or_refused_and_each_accepted_one_scored_once(
    world: World,
) -> None:
    bodies = {}
    tokens = {}
    for t in range(TEAMS):
        name = f"team{t:02d}"
        tokens[name] = world.add_team(name)
        bodies[name] = [
            pack(write_samples(world.root / "subs" / str(i) / name, t * 10 + i, BURST_N))
            for i in range(EACH)
        ]
    world.competition.write_text(
        world.competition.read_text()
        .replace("daily_submissions = 2", "daily_submissions = 1")
        .replace(f"n_per_class = {N}", f"n_per_class = {BURST_N}")
    )
    url = world.start_server(workers=0)
    for _ in range(BURST_WORKERS):
        world.start_worker(fast=True)

    def upload(name: str, i: int) -> tuple[str, int, dict[str, Any]]:
        r = httpx.post(
            url + "/api/submissions",
            content=bodies[name][i],
            headers=_auth(tokens[name]),
            timeout=120,
        )
        return name, r.status_code, r.json()

    with ThreadPoolExecutor(32) as pool:
        answers = list(
            pool.map(lambda a: upload(*a), [(n, i) for n in bodies for i in range(EACH)])
        )
    accepted = [a for a in answers if a[1] == 201]
    refused = [a for a in answers if a[1] != 201]
    assert {a[1] for a in refused} <= {429}
    assert all("daily_submissions" in a[2]["detail"] for a in refused)
    per_team = pd.Series([a[0] for a in accepted]).value_counts()
    assert (per_team == 1).all() and len(per_team) == TEAMS  # the limit of 1, no more, no fewer
    ids = {a[2]["submission_id"] for a in accepted}
    assert len(ids) == len(accepted)

    counts = _wait_until_done(world, len(ids))
    assert counts == {queue.QUEUED: 0, queue.RUNNING: 0, queue.SCORED: len(ids), queue.FAILED: 0}
    board = _board(world)
    assert sorted(board["submission_id"]) == sorted(ids)  # exactly one row each
    assert set(board["status"]) == {"ok"}
    engine = store.connect(world.db)
    state = store.State(world.state)
    with engine.connect() as conn:
        takers = conn.execute(
            sa.select(store.events.c.detail).where(store.events.c.kind == "taken")
        ).scalars()
        assert len({t.split(" #")[0] for t in takers}) == BURST_WORKERS, "both workers took jobs"
        subs = conn.execute(
            sa.select(
                store.submissions.c.id, store.submissions.c.team, store.submissions.c.archive_sha256
            )
        ).all()
        results = conn.execute(sa.select(store.results.c.submission_id)).scalars().all()
    assert {s[0] for s in subs} == ids and sorted(results) == sorted(ids)
    assert {p.name for p in state.unpacked.iterdir()} == ids  # the store agrees with the rows
    for sid, team, sha in subs:
        assert (state.unpacked / sid / team / "samples.npz").is_file()
        assert (state.archives / f"{sha}.tar").is_file()
    assert list(state.tmp.iterdir()) == []
    # A team sees its own submissions with public figures only.
    name = accepted[0][0]
    own = httpx.get(url + "/api/submissions", headers=_auth(tokens[name])).json()
    assert len(own) == 1 and {o["state"] for o in own} == {"scored"}
    shown = own[0]["result"]
    assert "score_public" in shown and not any("private" in k for k in shown)
    assert (
        "score" not in shown and "fid_with_mask" not in shown
    )  # whole-test figures hold private images
    other = next(a for a in accepted if a[0] != name)[2]["submission_id"]
    assert (
        httpx.get(url + f"/api/submissions/{other}", headers=_auth(tokens[name])).status_code == 404
    )
    one = httpx.get(
        url + f"/api/submissions/{own[0]['submission_id']}", headers=_auth(tokens[name])
    ).json()
    assert one["log_tail"].startswith(f"{name}: scoring submission")
    assert str(world.data) not in one["log_tail"] and str(world.state) not in one["log_tail"]
    assert "private" not in one["log_tail"]
    public = httpx.get(url + "/api/board").json()
    assert len(public) == TEAMS and not any("private" in k for k in public[0])


def test_the_limits_deadline_and_tokens_are_refused_in_one_line(world: World) -> None:
    token = world.add_team("team1")
    body = pack(write_samples(world.root / "subs" / "team1", seed=1))
    guard = ("--token-failures", "3", "--token-window-s", "600")
    url = world.start_server(0, *guard)

    def post(tok, content=body):
        return httpx.post(url + "/api/submissions", content=content, headers=_auth(tok), timeout=60)

    assert post(token).status_code == 201 and post(token).status_code == 201
    third = post(token)
    assert third.status_code == 429 and "used its 2 submission(s)" in third.json()["detail"]
    assert post("x" * 43).json()["detail"].startswith("unknown token")
    assert httpx.post(url + "/api/submissions", content=body).status_code == 401
    wrong = world.add_team("team2")
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w:gz") as tar:
        info = tarfile.TarInfo("checkpoint.pt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    refused = post(wrong, bad.getvalue())
    assert refused.status_code == 422 and "needs the model.py" in refused.json()["detail"]
    page = httpx.get(url + "/", follow_redirects=True, timeout=120)  # the board's static site
    assert page.status_code == 200 and "harness leaderboard --html" in page.text
    world.harness("teams", "revoke", "team2", *world.common()[:4])
    assert "revoked" in post(wrong).json()["detail"]
    world.competition.write_text(
        world.competition.read_text() + "deadline = 2000-01-01T00:00:00Z\n"
    )
    world.stop_all()
    url = world.start_server(0, *guard)
    late = post(world.add_team("team3"))
    assert late.status_code == 403 and "closed" in late.json()["detail"]
    cli = world.harness(
        "submit", str(world.root / "subs" / "team1"), "--server", url, "--token", token
    )
    assert cli.returncode == 1 and cli.stderr.startswith("error: the service refused:")
    assert len(cli.stderr.strip().splitlines()) == 1
    # Brute force: after 3 failed tokens from this address, 429 with one line, even for a
    # valid token (a blocked client learns nothing of its guesses); pages without a token stay.
    assert [post(f"guess{i}" * 8).status_code for i in range(3)] == [401] * 3
    blocked = post(token)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert blocked.json()["detail"].startswith("too many failed token attempts from 127.0.0.1")
    assert "\n" not in blocked.json()["detail"]
    assert httpx.get(url + "/api/board").status_code == 200


def test_a_worker_killed_mid_job_leaves_a_job_another_worker_scores_once(world: World) -> None:
    token = world.add_team("team1")
    url = world.start_server(workers=0)
    answer = httpx.post(
        url + "/api/submissions",
        content=pack(write_samples(world.root / "s" / "team1", seed=3)),
        headers=_auth(token),
        timeout=60,
    ).json()
    doomed = world.start_worker(lease_s=3)
    engine = store.connect(world.db)
    deadline = time.monotonic() + 60
    owner = None
    while owner is None and time.monotonic() < deadline:
        with engine.connect() as conn:
            owner = conn.execute(
                sa.select(store.jobs.c.lease_owner).where(store.jobs.c.state == queue.RUNNING)
            ).scalar()
        time.sleep(0.05)
    assert owner is not None and owner.endswith(f":{doomed.pid}")
    os.killpg(doomed.pid, signal.SIGKILL)  # mid-job: its first job loads the model first
    doomed.wait()
    with engine.connect() as conn:
        assert conn.execute(sa.select(store.jobs.c.state)).scalar_one() == queue.RUNNING
    world.start_worker(lease_s=3)
    _wait_until_done(world, 1, timeout_s=90)
    with engine.connect() as conn:
        state, attempts = conn.execute(sa.select(store.jobs.c.state, store.jobs.c.attempts)).one()
    assert (state, attempts) == (queue.SCORED, 2)
    assert list(_board(world)["submission_id"]) == [answer["submission_id"]]
    # The team's commands: its submissions, then its final selection, on the server.
    sid = answer["submission_id"]
    listed = world.harness("submissions", "--server", url, "--token", token)
    assert listed.returncode == 0 and listed.stdout.startswith(f"{sid} samples scored score ")
    chosen = world.harness("select", "subs/team1", sid, "--server", url, "--token", token, "--json")
    assert chosen.returncode == 0, chosen.stderr
    from harness.board.selections import read_selections

    assert read_selections(world.board) == {"team1": [sid]}
    wrong = world.harness("select", "subs/team9", sid, "--server", url, "--token", token)
    assert wrong.returncode == 1 and "the token is team team1's, not team9's" in wrong.stderr


def test_a_server_killed_mid_upload_shows_nothing_half_written_and_keeps_what_it_accepted(
    world: World,
) -> None:
    token = world.add_team("team1")
    url = world.start_server(workers=0)
    kept = httpx.post(
        url + "/api/submissions",
        content=pack(write_samples(world.root / "a" / "team1", seed=4)),
        headers=_auth(token),
        timeout=60,
    ).json()
    body = pack(write_samples(world.root / "b" / "team1", seed=5))
    halfway = threading.Event()

    def slow() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        halfway.set()
        time.sleep(30)
        yield body[len(body) // 2 :]

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(url + "/api/submissions", content=slow(), headers=_auth(token), timeout=60)

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    assert halfway.wait(30)
    time.sleep(0.5)
    state = store.State(world.state)
    assert [p.name for p in state.tmp.iterdir()]  # the upload was being written
    server = world.procs[0]
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    url = world.start_server(workers=1)  # restart: sweeps what the killed one left
    assert list(state.tmp.iterdir()) == []
    own = httpx.get(url + "/api/submissions", headers=_auth(token)).json()
    assert [o["submission_id"] for o in own] == [kept["submission_id"]]
    _wait_until_done(world, 1, timeout_s=90)
    assert list(_board(world)["submission_id"]) == [kept["submission_id"]]
    assert {p.name for p in state.unpacked.iterdir()} == {kept["submission_id"]}
