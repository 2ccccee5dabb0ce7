"""The competition service's speed on loopback: upload acceptance, board reads, queue overhead.

Run: ``python bench/service_bench.py [--uploads 40] [--reads-s 5]``. It makes a throwaway
competition (demo data, n_per_class = 200 at 64 px, so one samples.npz of random images is
about 5 MB), starts ``harness serve --workers 0`` on a free loopback port, and measures:

- upload acceptance: POST of the 5 MB packed samples until the 201 (store, unpack, the samples
  checks, the database insert), one at a time, p50 and p95;
- board reads: GET /api/board from 8 client threads for ``--reads-s`` seconds, requests/s;
- queue overhead per job (enqueue to a worker's start, and a whole take-and-finish cycle
  without scoring), on SQLite and, where Debian's PostgreSQL is installed, on a throwaway
  PostgreSQL cluster.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from harness.data.demo import make_demo_dataset
from harness.service import queue, store, tokens
from harness.service.uploads import pack

N, SIZE = 200, 64


def _server(root: Path, data: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "competition.toml").write_text(f"n_per_class = {N}\nimage_size = {SIZE}\n")
    db = f"sqlite:///{root / 'state' / 'service.sqlite3'}"
    (root / "state").mkdir()
    token = tokens.add_team(store.connect(db), "team1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "serve",
            "--port",
            str(port),
            "--workers",
            "0",
            "--state",
            str(root / "state"),
            "--db",
            db,
            "--data",
            str(data),
            "--competition",
            str(root / "competition.toml"),
            "--leaderboard",
            str(root / "results.csv"),
        ],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/api/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url, token


def uploads(url: str, token: str, root: Path, count: int) -> list[float]:
    rng = np.random.default_rng(0)
    folder = root / "team1"
    folder.mkdir()
    np.savez(
        folder / "samples.npz",
        images=rng.integers(0, 256, (2 * N, SIZE, SIZE, 3), dtype=np.uint8),
        labels=np.repeat(np.arange(2), N).astype(np.int64),
    )
    body = pack(folder)
    print(f"upload size: {len(body) / 2**20:.2f} MiB")
    times = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _ in range(count):
            start = time.perf_counter()
            r = client.post(url + "/api/submissions", content=body)
            assert r.status_code == 201, r.text
            times.append(time.perf_counter() - start)
    return times


def board_reads(url: str, seconds: float, threads: int = 8) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def read(i: int) -> None:
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < stop:
                client.get(url + "/api/board").raise_for_status()
                done[i] += 1

    workers = [threading.Thread(target=read, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / seconds


def queue_overhead(url: str, jobs: int = 200) -> tuple[float, float]:
    """Mean seconds from enqueue to a worker's take, and per take-and-finish cycle."""
    engine = store.connect(url)
    with engine.begin() as conn:
        conn.execute(
            store.teams.insert().values(name="q", organiser=False, created_at=store.utc_now())
        )
    waits, cycles = [], []
    for i in range(jobs):
        sid = f"b{i:07d}"
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                store.submissions.insert().values(
                    id=sid,
                    team="q",
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
        job = queue.claim(engine, "bench")
        waits.append(time.perf_counter() - start)
        assert job is not None
        queue.finish(engine, job, "bench", state=queue.SCORED, public={"score": 1.0})
        cycles.append(time.perf_counter() - start)
    return statistics.mean(waits), statistics.mean(cycles)


def _postgres(folder: Path) -> str | None:
    import os

    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        return None
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        [
            *prefix,
            str(bins[-1] / "initdb"),
            "-D",
            str(folder / "d"),
            "-A",
            "trust",
            "-U",
            "harness",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            str(bins[-1] / "pg_ctl"),
            "-D",
            str(folder / "d"),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-k {folder} -c listen_addresses=''",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return f"postgresql://harness@/postgres?host={folder}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--reads-s", type=float, default=5.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="service-bench-"))
    data = make_demo_dataset(
        root / "facemask", train_per_class=8, test_per_class=8, size=32, seed=1
    )
    proc, url, token = _server(root, data)
    try:
        times = sorted(uploads(url, token, root, args.uploads))
        p50 = times[len(times) // 2]
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"upload acceptance (5 MB samples): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
            f"({len(times)} uploads)"
        )
        print(f"board reads: {board_reads(url, args.reads_s):.0f} requests/s (8 clients)")
    finally:
        proc.terminate()
        proc.wait()
    wait, cycle = queue_overhead(f"sqlite:///{root / 'q.sqlite3'}")
    print(
        f"queue on SQLite: enqueue to start {wait * 1000:.1f} ms, whole cycle {cycle * 1000:.1f} ms per job"
    )
    pg_folder = Path(tempfile.mkdtemp(prefix="service-bench-pg-"))
    pg = _postgres(pg_folder)
    if pg:
        wait, cycle = queue_overhead(pg)
        print(
            f"queue on PostgreSQL: enqueue to start {wait * 1000:.1f} ms, whole cycle {cycle * 1000:.1f} ms per job"
        )
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] / "pg_ctl"),
                "-D",
                str(pg_folder / "d"),
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
        )
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(pg_folder, ignore_errors=True)


if __name__ == "__main__":
    main()
