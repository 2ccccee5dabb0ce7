"""The service's pages against a real ``harness serve`` on loopback, attacked as a team would.

One server (and one worker, scoring its first job for real and reusing that row after, see
``fast_scoring.py``) serves the whole suite: two teams and the organiser sign in with browsers'
forms (httpx clients keeping cookies), hand in samples, and then every boundary is tried. Each
try is counted; the suite prints how many were made and how many were blocked, and fails when
one got through. The final board is published after a restart with the deadline passed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from harness.service import queue, store, tokens
from harness.service.uploads import pack
from tests.service.conftest import SIZE, N, World, make_world, write_samples

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HOSTILE_PNG = "<img src=x onerror=alert(2)>.png"  # its failure names it on two pages


class Tally:
    """Attempts at crossing a boundary, and how many were blocked."""

    def __init__(self) -> None:
        self.tried: list[tuple[str, bool]] = []

    def check(self, what: str, blocked: bool) -> None:
        self.tried.append((what, blocked))

    def report(self) -> None:
        through = [w for w, b in self.tried if not b]
        blocked = len(self.tried) - len(through)
        print(f"\nattack suite: {len(self.tried)} attempts, {blocked} blocked")
        assert not through, f"got through: {through}"


@pytest.fixture(scope="module")
def pages_world(tmp_path_factory: pytest.TempPathFactory, served_data: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("pages")
    (root / "state").mkdir()
    made = make_world(root, served_data, None, "daily_submissions = 20\nfinal_selections = 1\n")
    yield made
    made.stop_all()


def _sign_in(url: str, token: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    got = client.post("/signin", data={"token": token})
    assert got.status_code == 303, got.text
    page = client.get(got.headers["location"])
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return client, csrf.group(1)


def _upload(client: httpx.Client, csrf: str, name: str, data: bytes) -> httpx.Response:
    return client.post("/me/upload", data={"csrf": csrf}, files={"file": (name, data)})


def _accepted(page: httpx.Response) -> str:
    found = re.fullmatch(r"/me\?accepted=([0-9a-z]+)", page.headers.get("location", ""))
    assert page.status_code == 303 and found, page.text[-2000:]
    return found.group(1)


def _broken_archive(folder: Path) -> bytes:
    """A samples/ folder whose one PNG does not decode: accepted, then failed by the worker."""
    from PIL import Image

    for label in ("with_mask", "without_mask"):
        (folder / "samples" / label).mkdir(parents=True)
        for i in range(N):
            Image.fromarray(np.full((SIZE, SIZE, 3), i * 9, np.uint8)).save(
                folder / "samples" / label / f"{i:03d}.png"
            )
    (folder / "samples" / "without_mask" / "005.png").unlink()
    (folder / "samples" / "without_mask" / HOSTILE_PNG).write_bytes(b"not a png")
    return pack(folder)


def _hostile_archives() -> dict[str, bytes]:
    """Archives the upload form must refuse in one line: traversal, a link, a bomb."""
    import io
    import tarfile

    made = {}
    for what, names, kind in (
        ("traversal", ["../escape.py"], tarfile.REGTYPE),
        ("absolute path", ["/etc/evil.py"], tarfile.REGTYPE),
        ("symlink", ["model.py"], tarfile.SYMTYPE),
        ("bomb (5 MiB of zeros, a few KiB packed)", ["samples.npz"], tarfile.REGTYPE),
    ):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name in names:
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
                data = b"" if kind == tarfile.SYMTYPE else b"x = 1\n"
                data = bytes(5 * 2**20) if what.startswith("bomb") else data
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        made[what] = buffer.getvalue()
    return made


def _submission_count(engine: object) -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(store.submissions)).scalar_one()
        )


def _private_values(board: Path) -> set[str]:
    """The private-part FIDs, KIDs, scores and MiFIDs of the board's rows, as patterns of the
    formats pages and JSON use (2 to 4 decimals, 4 significant digits, Python's repr), each
    bounded so that it is not part of a longer number. Ratios such as coverage are left out:
    on tiny samples the two parts often share them (5/6 on both), which proves nothing."""
    import pandas as pd

    rows = pd.read_csv(board)
    found: set[str] = set()
    figures = ("fid_private", "kid_private", "score_private", "mifid_private")
    for column in (c for c in rows.columns if c.startswith(figures)):
        for value in pd.to_numeric(rows[column], errors="coerce").dropna():
            texts = {f"{value:.{d}f}" for d in (2, 3, 4)} | {f"{value:.4g}", repr(float(value))}
            found |= {rf"(?<![\d.]){re.escape(x)}(?!\d)" for x in texts}
    return found


def _wait(world: World, count: int, timeout_s: float = 120) -> None:
    engine = store.connect(world.db)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = queue.counts(engine)
        if done[queue.SCORED] + done[queue.FAILED] >= count and not done[queue.QUEUED]:
            return
        time.sleep(0.3)
    raise AssertionError(f"jobs not done: {queue.counts(engine)}")


def test_pages_hold_every_boundary_between_teams_and_the_organiser(pages_world: World) -> None:
    world, tally = pages_world, Tally()
    engine = store.connect(world.db)
    token_a, token_b = world.add_team("alpha"), world.add_team("beta")
    boss_token = tokens.add_team(engine, "boss", organiser=True)
    url = world.start_server(0, "--max-upload-mib", "2")
    world.start_worker()

    # Sign in: a session cookie that is not the token, HttpOnly, SameSite=Strict.
    raw = httpx.post(url + "/signin", data={"token": token_a})
    cookie = raw.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower() and token_a not in cookie  # plain http on loopback
    behind_tls = httpx.post(
        url + "/signin", data={"token": token_a}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "secure" in behind_tls.headers["set-cookie"].lower()  # a TLS proxy on this machine
    a, csrf_a = _sign_in(url, token_a)
    b, csrf_b = _sign_in(url, token_b)
    boss, csrf_boss = _sign_in(url, boss_token)

    # Hand in: samples for alpha (twice), a broken archive with a hostile name for beta.
    npz = write_samples(world.root / "subs" / "a1", 1) / "samples.npz"
    a_first = _accepted(_upload(a, csrf_a, "samples.npz", npz.read_bytes()))
    npz2 = write_samples(world.root / "subs" / "a2", 2) / "samples.npz"
    a_second = _accepted(_upload(a, csrf_a, "samples.npz", npz2.read_bytes()))
    broken = _broken_archive(world.root / "subs" / "b1")
    b_failed = _accepted(_upload(b, csrf_b, HOSTILE + ".tar.gz", broken))
    refused = _upload(b, csrf_b, HOSTILE + ".exe", b"MZ not an archive")
    tally.check("upload of an unknown file type", refused.status_code == 422)
    tally.check("hostile file name shown raw", "<script>alert" not in refused.text)
    assert "this file is none of them" in refused.text
    rows_before = _submission_count(engine)
    for what, data in _hostile_archives().items():
        got = _upload(b, csrf_b, "team.tar.gz", data)
        tally.check(
            f"archive with a {what}", got.status_code in (413, 422) and "refusal" in got.text
        )
    got = _upload(b, csrf_b, "big.npz", b"0" * (2 * 2**20 + 1))
    tally.check("an upload over the size limit", got.status_code == 413)
    got = b.post(
        "/me/upload", content=b"csrf=" + csrf_b.encode(), headers={"content-type": "text/plain"}
    )
    tally.check("an upload of the wrong content type", got.status_code == 415)
    tally.check("a refused upload stored as a submission", _submission_count(engine) == rows_before)
    _wait(world, 3)

    mine_a = a.get("/me").text
    assert a_first in mine_a and "score_public" in mine_a and "/me/strips/" + a_first in mine_a
    assert 'class="team-row mine" data-team="alpha"' in a.get("/board/index.html").text
    tally.check(
        "beta's board marks alpha as beta's",
        'mine" data-team="alpha"' not in b.get("/board/index.html").text,
    )
    mine_b = b.get("/me").text
    assert b_failed in mine_b and "not a readable image" in mine_b
    tally.check("hostile member name in beta's log", "<img src=x onerror=alert(2)" not in mine_b)
    assert "&lt;img src=x onerror=alert(2)&gt;.png" in mine_b  # shown, as text

    # Another team's submissions, logs, strips and rows: by id guessing and by parameters.
    strip_ok = a.get(f"/me/strips/{a_first}")
    assert strip_ok.status_code == 200 and strip_ok.headers["content-type"].startswith("image/")
    if "/me/nearest/" + a_first in mine_a:  # kept when the samples were memorised
        assert a.get(f"/me/nearest/{a_first}").headers["content-type"].startswith("image/")
    for path in (
        f"/me/strips/{a_first}",
        f"/me/strips/{a_first}?team=alpha",
        "/me/strips/..%2F..%2Fresults.csv",
        "/me/strips/" + "0" * 16,
        f"/me/nearest/{a_first}",
    ):
        tally.check(f"beta reads {path}", b.get(path).status_code == 404)
    for path in (f"/api/submissions/{a_first}", f"/api/submissions/{a_first}?team=alpha"):
        got = httpx.get(url + path, headers={"Authorization": f"Bearer {token_b}"})
        tally.check(f"beta reads {path}", got.status_code == 404)
    listed = httpx.get(
        url + "/api/submissions?team=alpha", headers={"Authorization": f"Bearer {token_b}"}
    )
    tally.check("beta lists alpha's by ?team=", a_first not in listed.text)
    for path in ("/me", "/me?team=alpha", "/me?submission_id=" + a_first):
        tally.check(f"beta's {path} shows alpha's", a_first not in b.get(path).text)
    got = b.post("/me/selections", data={"csrf": csrf_b, "submission_ids": a_first})
    tally.check("beta selects alpha's", got.status_code == 422 and "belongs to alpha" in got.text)

    # Organiser pages and endpoints refuse a team.
    tally.check("beta opens /organiser", b.get("/organiser").status_code == 403)
    for action in ("requeue", "disqualify", "publish"):
        got = b.post(
            f"/organiser/{action}", data={"csrf": csrf_b, "submission_id": a_first, "reason": "x"}
        )
        tally.check(f"beta posts /organiser/{action}", got.status_code == 403)
    got = httpx.get(url + "/api/admin/jobs", headers={"Authorization": f"Bearer {token_b}"})
    tally.check("beta's token on /api/admin/jobs", got.status_code == 403)

    # CSRF: missing, wrong, another session's, and no session at all.
    for what, data in (
        ("missing", {"submission_ids": a_first}),
        ("wrong", {"csrf": "x" * 43, "submission_ids": a_first}),
        ("beta's in alpha's session", {"csrf": csrf_b, "submission_ids": a_first}),
    ):
        tally.check(f"CSRF {what}", a.post("/me/selections", data=data).status_code == 403)
    tally.check(
        "CSRF no session",
        httpx.post(url + "/me/selections", data={"csrf": csrf_a}).status_code == 401,
    )
    tally.check(
        "upload without CSRF", _upload(a, "", "samples.npz", npz.read_bytes()).status_code == 403
    )

    # Private figures: none on any page or endpoint a team sees before publication.
    # Checked by name and by value: every private-part figure of the rows on the board, in
    # each way a page or JSON could print it, must be absent.
    secrets = _private_values(world.board)
    assert secrets, "the board has private-part figures to look for"
    for client, path in ((a, "/me"), (a, "/board/index.html"), (a, "/api/board")):
        text = client.get(path).text
        tally.check(f"private figures on {path}", "private" not in text.replace("kind-private", ""))
        tally.check(f"private values on {path}", not [s for s in secrets if re.search(s, text)])
    tally.check(
        "final board before publication", a.get("/board/final/index.html").status_code == 404
    )

    # The organiser: the failed job's log, HTML in a reason escaped, re-queue, disqualify.
    page = boss.get("/organiser").text
    assert b_failed in page and "not a readable image" in page and "alpha" in page
    tally.check("hostile member name on the organiser's page", "<img src=x onerror" not in page)
    got = boss.post(
        "/organiser/disqualify",
        data={"csrf": csrf_boss, "submission_id": a_second, "reason": HOSTILE},
    )
    assert got.status_code == 200 and "disqualified " + a_second in got.text
    tally.check("hostile reason shown raw to the organiser", "<script>alert" not in got.text)
    mine_a = a.get("/me").text
    assert "disqualified" in mine_a
    tally.check("hostile reason shown raw to the team", "<script>alert" not in mine_a)
    board = httpx.get(url + "/api/board").json()
    tally.check(
        "disqualified row on the board", all(r.get("submission_id") != a_second for r in board)
    )
    got = a.post("/me/selections", data={"csrf": csrf_a, "submission_ids": a_second})
    tally.check("selecting a disqualified submission", got.status_code == 422)
    got = a.post("/me/selections", data={"csrf": csrf_a, "submission_ids": a_first})
    assert got.status_code == 303 and "selected 1" in a.get(got.headers["location"]).text
    got = boss.post("/organiser/requeue", data={"csrf": csrf_boss, "submission_id": b_failed})
    assert got.status_code == 200 and "re-queued " + b_failed in got.text
    _wait(world, 3)

    # A revoked token stops its sessions at once, and its bearer use.
    tokens.revoke(engine, "alpha")
    tally.check("revoked session opens /me", a.get("/me").status_code == 303)
    got = a.post("/me/selections", data={"csrf": csrf_a, "submission_ids": a_first})
    tally.check("revoked session posts", got.status_code == 401)
    got = httpx.get(url + "/api/submissions", headers={"Authorization": f"Bearer {token_a}"})
    tally.check("revoked bearer token", got.status_code == 401)
    tally.check(
        "revoked token signs in",
        httpx.post(url + "/signin", data={"token": token_a}).status_code == 401,
    )

    # Failed sign-ins count toward the address's limit (20 a minute).
    for i in range(20):
        httpx.post(url + "/signin", data={"token": f"guess-{i}"})
    tally.check(
        "sign-in after 21 bad tokens",
        httpx.post(url + "/signin", data={"token": token_b}).status_code == 429,
    )

    # After the deadline: selections are final; the organiser publishes; teams see the board.
    world.stop_all()
    world.competition.write_text(
        world.competition.read_text() + "deadline = 2000-01-01T00:00:00Z\n"
    )
    url = world.start_server(workers=0)
    b, csrf_b = _sign_in(url, token_b)
    boss, csrf_boss = _sign_in(url, boss_token)
    got = b.post("/me/selections", data={"csrf": csrf_b, "submission_ids": ""})
    tally.check("selection after the deadline", got.status_code == 403)
    got = boss.post("/organiser/publish", data={"csrf": csrf_boss})
    assert got.status_code == 200 and "published" in got.text, got.text[-1500:]
    final = b.get("/board/final/index.html")
    assert final.status_code == 200 and "alpha" in final.text and a_second not in final.text
    tally.report()
