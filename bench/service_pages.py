"""Server-side render time of the service's pages: 30 teams with 20 submissions each.

A state folder and board are filled directly (600 submissions, jobs and public results in the
SQLite store; 600 scored rows in results.csv), then the app is driven in process through
FastAPI's TestClient (no network, so the time is the server's): a team's "my submissions", the
organiser's page and the public board (built once, then served). Each page is requested
``--repeat`` times after one warm-up; the median and the worst are reported, against the target
of 100 ms a page.

    python bench/service_pages.py [--teams 30] [--each 20] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd


def fill(root: Path, teams: int, each: int) -> tuple[object, dict[str, str]]:
    """A service's state with ``teams`` x ``each`` scored submissions; (settings, tokens)."""
    from harness.service import queue, store, tokens
    from harness.service.app import ServiceSettings
    from harness.settings.competition import Competition

    state = store.State(root / "state").create()
    engine = store.connect(state.database_url())
    board = root / "leaderboard" / "results.csv"
    board.parent.mkdir()
    issued = {"organiser": tokens.add_team(engine, "organiser", organiser=True)}
    rows = []
    now = store.utc_now()
    with engine.begin() as conn:
        for t in range(teams):
            team = f"team{t:02d}"
            conn.execute(store.teams.insert().values(name=team, organiser=False, created_at=now))
            for i in range(each):
                sid = f"{t:03d}x{i:04d}"
                at = now - timedelta(minutes=t * each + i)
                score = 20.0 + t + i / 10
                public = {"score_public": score, "fid_public_with_mask": score / 2}
                conn.execute(
                    store.submissions.insert().values(
                        id=sid,
                        team=team,
                        archive_sha256="0" * 64,
                        kind="samples",
                        size_bytes=12345,
                        submitted_at=at,
                    )
                )
                state_ = queue.SCORED if i % 5 else queue.QUEUED
                conn.execute(
                    store.jobs.insert().values(
                        submission_id=sid, state=state_, attempts=1, queued_at=at
                    )
                )
                if state_ == queue.SCORED:
                    conn.execute(
                        store.results.insert().values(
                            submission_id=sid,
                            status="ok",
                            public_json=json.dumps(public),
                            written_at=at,
                        )
                    )
                    rows.append(
                        {
                            "team": team,
                            "submission_id": sid,
                            "status": "ok",
                            "submitted_at": at.isoformat(),
                            "score": score,
                            "fid_with_mask": score / 2,
                            "fid_without_mask": score / 2,
                        }
                    )
    issued["team00"] = tokens.rotate(engine, "team00")
    pd.DataFrame(rows).to_csv(board, index=False)
    settings = ServiceSettings(
        engine=engine,
        state=state,
        board=board,
        competition=Competition(n_per_class=12, image_size=16, daily_submissions=0),
    )
    return settings, issued


def timed(client: object, path: str, repeat: int) -> tuple[float, float]:
    """(median, worst) milliseconds of ``repeat`` GETs of ``path`` after one warm-up."""
    got = client.get(path)  # type: ignore[attr-defined]
    assert got.status_code == 200, (path, got.status_code, got.text[:300])
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--each", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from harness.service.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings, issued = fill(Path(tmp), args.teams, args.each)
        app = create_app(settings)  # type: ignore[arg-type]
        results = {}
        for who, paths in (
            ("team00", ["/me", "/board/index.html"]),
            ("organiser", ["/organiser"]),
        ):
            client = TestClient(app)
            signed = client.post("/signin", data={"token": issued[who]}, follow_redirects=False)
            assert signed.status_code == 303, signed.text[:300]
            for path in paths:
                results[path] = timed(client, path, args.repeat)
    print(f"{args.teams} teams x {args.each} submissions; target 100 ms a page")
    for path, (median, worst) in results.items():
        verdict = "ok" if median < 100 else "SLOW"
        print(f"{path:20s} median {median:7.1f} ms   worst {worst:7.1f} ms   {verdict}")


if __name__ == "__main__":
    main()
