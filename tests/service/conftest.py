"""A tiny competition served for real: a uvicorn server on a loopback port, worker processes,
and (where Debian's PostgreSQL 15 is installed) a throwaway PostgreSQL cluster.

Scoring is made cheap as the scoring tests make it: the 32 px demo faces, 12 samples per class
at 16 px, and Inception's first block (64 dims) without bootstrap or label fidelity, so that a
job costs well under a second once a worker has loaded its model.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

from harness.data.split import make_split

N = 12
SIZE = 16
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"))
FAST_SCORING = Path(__file__).with_name("fast_scoring.py")
WORKER_FLAGS = ["--dims", "64", "--bootstrap", "0", "--no-labels", "--device", "cpu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_samples(folder: Path, seed: int, n: int = N) -> Path:
    """A samples submission of random faces: ``n`` per class at SIZE px."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / "samples.npz",
        images=rng.integers(0, 256, (2 * n, SIZE, SIZE, 3), dtype=np.uint8),
        labels=np.repeat(np.arange(2), n).astype(np.int64),
    )
    return folder


@dataclass
class World:
    """A competition folder: data with a public/private split, rules, board, state."""

    root: Path
    data: Path
    competition: Path
    board: Path
    state: Path
    db: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def common(self) -> list[str]:
        return [
            "--db",
            self.db,
            "--state",
            str(self.state),
            "--data",
            str(self.data),
            "--leaderboard",
            str(self.board),
            "--competition",
            str(self.competition),
        ]

    def harness(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
        )

    def add_team(self, name: str) -> str:
        from harness.service import store, tokens

        return tokens.add_team(store.connect(self.db), name)

    def env(self, **changes: str) -> dict[str, str]:
        """One thread per process: the server and its workers share the test machine's cores."""
        return {**os.environ, "HARNESS_THREADS": "1", "OMP_NUM_THREADS": "1", **changes}

    def start_server(self, workers: int = 0, *extra: str) -> str:
        """``harness serve`` on a free loopback port (``extra``: more flags); its URL."""
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *self.common(),
                *WORKER_FLAGS,
                *extra,
            ],
            cwd=self.root,
            start_new_session=True,
            env=self.env(),
        )
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.2)
            assert proc.poll() is None, "the server ended at start"
        raise AssertionError("the server did not start in 60 s")

    def start_worker(
        self, lease_s: float = 60.0, extra: tuple[str, ...] = (), fast: bool = False, **env: str
    ) -> subprocess.Popen[bytes]:
        """A ``harness worker`` process (``extra``: more flags; ``fast``: later jobs reuse the
        first one's row, see :mod:`tests.service.fast_scoring`; ``env``: variables to change)."""
        program = [str(FAST_SCORING)] if fast else ["-m", "harness"]
        proc = subprocess.Popen(
            [
                sys.executable,
                *program,
                "worker",
                *self.common(),
                *WORKER_FLAGS,
                "--lease-s",
                str(lease_s),
                *extra,
            ],
            cwd=self.root,
            start_new_session=True,
            env=self.env(**env),
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


@pytest.fixture(scope="session")
def served_data(
    tmp_path_factory: pytest.TempPathFactory, tiny_data: Path, fid_weights: object
) -> Path:
    """The tiny data with a public/private split (the weights derived once, before workers)."""
    data = tmp_path_factory.mktemp("served") / "facemask"
    shutil.copytree(tiny_data, data)
    make_split(data, public_fraction=0.5, seed=7)
    return data


def make_world(root: Path, data: Path, db: str | None, rules: str) -> World:
    competition = root / "competition.toml"
    competition.write_text(f"n_per_class = {N}\nimage_size = {SIZE}\n{rules}")
    state = root / "state"
    return World(
        root=root,
        data=data,
        competition=competition,
        board=root / "leaderboard" / "results.csv",
        state=state,
        db=db or f"sqlite:///{state / 'service.sqlite3'}",
    )


@pytest.fixture
def world(tmp_path: Path, served_data: Path) -> Iterator[World]:
    """A fresh competition on SQLite, daily limit 2; every process it starts is stopped."""
    state = tmp_path / "state"
    state.mkdir()
    made = make_world(tmp_path, served_data, None, "daily_submissions = 2\n")
    yield made
    made.stop_all()


def _pg_prefix() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a socket in a temporary folder; its URL."""
    if not (PG_BIN / "initdb").is_file():
        if os.environ.get("HARNESS_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is not installed at {PG_BIN}; .ci/run installs it")
        pytest.skip(f"PostgreSQL is not installed at {PG_BIN} (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    prefix = _pg_prefix()
    subprocess.run(
        [
            *prefix,
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "harness",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-k {folder} -c listen_addresses='' -c fsync=off -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://harness@/postgres?host={folder}"
    finally:
        subprocess.run(
            [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres: str) -> str:
    """The cluster's database emptied of the service's tables."""

    from harness.service import store

    engine = store.connect(postgres)
    store.metadata.drop_all(engine)
    engine.dispose()
    return postgres
