"""Scale-out settings: what --jobs, --devices, --executor and the Slurm options accept,
and how local slots get their devices and threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.scale import executors, plan


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("1:30", 2), ("2:00:00", 120), ("1-00:00:00", 1440), ("1-2", 1560)],
)
def test_slurm_time_limits_are_read_in_minutes(text: str, minutes: int) -> None:
    assert plan.parse_time_limit(text) == minutes


@pytest.mark.parametrize("text", ["", "2h", "0", "1:2:3:4"])
def test_a_bad_time_limit_is_one_error(text: str) -> None:
    with pytest.raises(HarnessError, match="--time-limit"):
        plan.parse_time_limit(text)


def test_slurm_extra_options_become_sbatch_options() -> None:
    assert plan.parse_extra(["account=proj", "--qos=high", "mem=16G"]) == {
        "account": "proj",
        "qos": "high",
        "mem": "16G",
    }
    with pytest.raises(HarnessError, match="KEY=VALUE"):
        plan.parse_extra(["account"])


def settings(**changes: object) -> plan.ScaleSettings:
    base: dict[str, object] = dict(
        jobs=None,
        devices=None,
        executor="local",
        partition=None,
        gpus_per_job=None,
        cpus_per_job=None,
        time_limit=None,
        extra=None,
        folder=None,
    )
    return plan.make_settings(**{**base, **changes})  # type: ignore[arg-type]


def test_settings_default_to_one_job_here_and_follow_devices() -> None:
    one = settings()
    assert (one.jobs, one.devices, one.parallel, one.cluster) == (1, ("auto",), False, None)
    two = settings(devices="cpu,cpu")
    assert two.jobs == 2 and two.parallel and two.devices == ("cpu", "cpu")
    four = settings(jobs=4, devices="cpu")
    assert [four.device_of_slot(s) for s in range(4)] == ["cpu"] * 4
    dry = settings(executor="submitit-local", jobs=3, time_limit="10", extra=["qos=low"])
    assert dry.cluster == "local" and dry.slurm.time_limit_min == 10
    assert dry.slurm.extra == {"qos": "low"}
    assert settings(executor="submitit-local").jobs == plan.CLUSTER_JOBS, "no cap by default"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"executor": "kubernetes"}, "unknown executor 'kubernetes'"),
        ({"jobs": 0}, "--jobs must be at least 1"),
        ({"partition": "gpu"}, "--slurm-partition set the Slurm jobs; add --executor slurm"),
        ({"executor": "submitit-local", "devices": "cpu"}, "use --gpus-per-job"),
        ({"executor": "submitit-local", "cpus_per_job": 0}, "--cpus-per-job must be at least 1"),
        ({"executor": "submitit-local", "gpus_per_job": -1}, "--gpus-per-job must be 0 or more"),
    ],
)
def test_settings_mistakes_are_one_line_each(changes: dict, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        settings(**changes)


def test_slurm_without_sbatch_says_where_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan.shutil, "which", lambda name: None)
    with pytest.raises(HarnessError, match=r"needs Slurm.s sbatch on PATH.*submitit-local"):
        settings(executor="slurm")


def test_scale_options_without_all_are_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for argv in (
        ["train", str(tmp_path), "--jobs", "2"],
        ["score", str(tmp_path), "--executor", "submitit-local"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 1
        assert capsys.readouterr().err == f"error: {argv[2]} run many teams at once: add --all\n"


def _where(task: dict) -> dict:
    return {**task, "pid": os.getpid()}


def test_local_slots_deal_devices_in_turn_and_share_the_cores() -> None:
    # GPUs named but never touched: the job only reports where it was sent.
    scale = plan.ScaleSettings(jobs=2, devices=("cuda:0", "cuda:1"))
    done: list[int] = []
    outcomes = executors.run_jobs(
        _where,
        [{"team": t} for t in "abc"],
        labels=list("abc"),
        settings=scale,
        assign=lambda task, device, threads: {
            **task,
            "device": device,
            "env_threads": threads,
        },
        failed=lambda index, error: {"error": error},
        on_done=lambda index, outcome: done.append(index),
        say=lambda message: None,
        name="test",
    )
    assert [o["team"] for o in outcomes] == ["a", "b", "c"] and sorted(done) == [0, 1, 2]
    assert outcomes[0]["device"] == "cuda:0" and outcomes[1]["device"] == "cuda:1"
    assert outcomes[2]["device"] in ("cuda:0", "cuda:1"), "the freed slot's device"
    assert len({o["pid"] for o in outcomes}) == 3, "a fresh process per job"
    assert {o["env_threads"] for o in outcomes} == {executors.local_threads(scale)}


def _fake_slurm_login_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH gets an ``sbatch`` that keeps the script it is given and answers as Slurm does, and
    an ``srun`` that does nothing (submitit 1.5.4 refuses to build a Slurm executor without
    one). Returns where the submitted script lands."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "submitted.sbatch"
    (bin_dir / "sbatch").write_text(
        f'#!/bin/sh\nfor a; do last="$a"; done\ncp "$last" "{record}"\n'
        'echo "Submitted batch job 4242"\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return record


def test_slurm_options_reach_the_sbatch_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Submitted through submitit's public path to a stand-in sbatch: what a cluster receives,
    # without reading submitit's private helpers (they change between releases).
    from harness.scale.slurm import make_executor

    record = _fake_slurm_login_node(tmp_path, monkeypatch)
    gpu = plan.ScaleSettings(
        jobs=3,
        executor="slurm",
        slurm=plan.SlurmOptions(
            partition="gpu", gpus_per_job=1, cpus_per_job=8, time_limit_min=90, extra={"qos": "hi"}
        ),
    )
    jobs = make_executor(gpu, tmp_path / "gpu" / "%j", "harness-train", 30).map_array(
        abs, range(30)
    )
    assert [job.job_id for job in jobs[:2]] == ["4242_0", "4242_1"]
    script = record.read_text()
    for line in (
        "--partition=gpu",
        "--gpus-per-node=1",
        "--cpus-per-task=8",
        "--time=90",
        "--qos=hi",
        "--job-name=harness-train",
        "--array=0-29%3",  # at most --jobs array tasks at once
    ):
        assert f"#SBATCH {line}\n" in script
    cpu = plan.ScaleSettings(executor="slurm")
    make_executor(cpu, tmp_path / "cpu" / "%j", "x", 2).map_array(abs, range(2))
    script = record.read_text()
    assert "--job-name=x" in script
    assert "gpus" not in script and "--partition" not in script
