"""``harness worker --executor slurm``: each job in a Slurm job of its own, through submitit.

No real Slurm here: a stand-in ``sbatch``/``srun``/``sacct``/``scancel`` on PATH runs the
submitted script as a local process group and reports it as Slurm's accounting would. The
worker that took the job keeps its lease alive while the Slurm job runs, and a Slurm job that
dies is the infrastructure's failure: the job is retried, and scored once.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from harness.errors import HarnessError
from harness.service import queue, store
from harness.service.uploads import pack
from tests.service.conftest import World, write_samples
from tests.service.slurm_standin import StandInSlurm

LEASE_S = 2.0


def _until(check, what: str, timeout_s: float = 90):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def test_a_slurm_job_that_dies_is_retried_and_the_lease_lives_while_slurm_runs(
    world: World, tmp_path: Path
) -> None:
    slurm = StandInSlurm(tmp_path / "slurm")
    token = world.add_team("team1")
    url = world.start_server(workers=0)
    answer = httpx.post(
        url + "/api/submissions",
        content=pack(write_samples(world.root / "s" / "team1", seed=3)),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    world.start_worker(
        lease_s=LEASE_S,
        extra=("--executor", "slurm", "--slurm-poll-s", "0.2", "--time-limit", "10"),
        PATH=slurm.path(),
    )
    first = _until(lambda: slurm.submitted() and slurm.running_pid(slurm.submitted()[0]), "sbatch")
    assert first
    doomed = slurm.submitted()[0]
    script = (slurm.jobs / f"{doomed}.sbatch").read_text()
    assert "#SBATCH --job-name=harness-service\n" in script and "#SBATCH --time=10\n" in script
    slurm.kill(doomed)  # the node is lost: no result, no exit status
    retry = _until(lambda: slurm.submitted()[1:], "the retry's sbatch")[0]

    # While the retried Slurm job runs, its worker keeps renewing the lease.
    engine = store.connect(world.db)
    renewals: set[object] = set()
    while slurm.exit_status(retry) is None:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(store.jobs.c.state, store.jobs.c.lease_expires, store.jobs.c.attempts)
            ).one()
        if row[0] != queue.RUNNING:
            break
        assert row[2] == 2, "no other attempt: the job stayed this worker's"
        renewals.add(row[1])
        time.sleep(0.1)
    assert len(renewals) >= 2, "the heartbeat renewed the lease during the Slurm job"
    assert _until(lambda: slurm.exit_status(retry), "the retry's exit status") == "0"

    _until(lambda: queue.counts(engine)[queue.SCORED] == 1, "scored", timeout_s=60)
    with engine.connect() as conn:
        state, attempts = conn.execute(sa.select(store.jobs.c.state, store.jobs.c.attempts)).one()
        failures = (
            conn.execute(
                sa.select(store.events.c.detail).where(
                    store.events.c.kind == "infrastructure-failure"
                )
            )
            .scalars()
            .all()
        )
    assert (state, attempts) == (queue.SCORED, 2)
    assert len(failures) == 1 and f"Slurm job {doomed} ended NODE_FAIL" in failures[0]
    from harness.board import leaderboard

    board = leaderboard.read(world.board)
    assert list(board["submission_id"]) == [answer["submission_id"]]
    assert list(board["status"]) == ["ok"]
    own = httpx.get(
        url + f"/api/submissions/{answer['submission_id']}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert own["state"] == "scored" and own["error"] == ""
    assert str(world.state) not in own["log_tail"] and str(world.data) not in own["log_tail"]
    # The node's own lines about the team's submission reach its log.
    assert "team1: " in own["log_tail"] and "handed to Slurm" in own["log_tail"]
    assert len(slurm.submitted()) == 2


def test_slurm_options_for_the_service_are_checked_before_it_starts(world: World) -> None:
    from harness.cli.service_opts import WorkerOptions

    base = dict(
        data=world.data,
        leaderboard=world.board,
        competition=world.competition,
        isolation=None,
        device="cpu",
        dims=64,
        bootstrap=0,
        labels=False,
        lease_s=60.0,
        executor="local",
        slurm_partition=None,
        gpus_per_job=None,
        cpus_per_job=None,
        time_limit=None,
        slurm_extra=None,
        slurm_folder=None,
        slurm_poll_s=10.0,
    )
    local = WorkerOptions(**base).settings(world.state)  # type: ignore[arg-type]
    assert local.scale is None and not local.on_cluster
    with pytest.raises(HarnessError, match="--slurm-partition set the Slurm jobs"):
        WorkerOptions(**{**base, "slurm_partition": "gpu"}).settings(world.state)  # type: ignore[arg-type]
    dry = WorkerOptions(**{**base, "executor": "submitit-local", "gpus_per_job": 1})  # type: ignore[arg-type]
    assert dry.settings(world.state).on_cluster
    # serve hands its workers exactly these options.
    argv = dry.argv()
    assert argv[argv.index("--executor") + 1] == "submitit-local"
    assert argv[argv.index("--gpus-per-job") + 1] == "1" and "--no-labels" in argv
    assert "--slurm-partition" not in argv


def test_a_refused_sbatch_gives_the_job_back_as_the_harness_s_fault(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.scale.plan import ScaleSettings
    from harness.service import slurm
    from harness.service.workers import JobLog, RetryLater, WorkerSettings
    from harness.settings.competition import load_competition

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, text in (
        ("sbatch", "#!/bin/sh\necho 'sbatch: error: Batch job submission failed' >&2\nexit 1\n"),
        ("srun", "#!/bin/sh\nexit 0\n"),
    ):
        (bin_dir / tool).write_text(text)
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    settings = WorkerSettings(
        state=world.state,
        data_root=world.data,
        board=world.board,
        competition=load_competition(world.competition),
        scale=ScaleSettings(executor="slurm"),
    )
    job = queue.Job(id=1, submission_id="abcd1234", team="team1", kind="samples", attempt=1)
    with pytest.raises(RetryLater, match="the Slurm job could not be submitted"):
        slurm.score_on_cluster(
            job, settings, JobLog("team1", []), say=lambda m: None, lost=threading.Event()
        )
