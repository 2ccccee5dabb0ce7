"""Training: outputs of a run, exact resume, kills, Ctrl-C, NaN, held-out data, limits."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.errors import HarnessError, TeamCodeError
from harness.sandbox.processes import descendants as job_descendants
from harness.sandbox.runner import Limits, run_child
from harness.training import checkpoint, runs
from harness.training.train import train_team
from tests.conftest import requires_bwrap, write_team


def step_records(run_dir: Path) -> list[dict[str, float]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "step"]


def test_short_run_leaves_checkpoint_grid_metrics_and_curves(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    result = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path / "runs", overrides={"epochs": 2}
    )
    run_dir = Path(result["run_dir"])
    assert run_dir.parent == tmp_path / "runs" / "tiny"
    assert result["epochs_done"] == 2 and result["steps_done"] == 12  # 48 images / batch 8
    config = runs.read_config(run_dir)
    assert config["status"] == "complete" and config["train_config"]["epochs"] == 2
    assert config["image_size"] == 16 and config["train_images"] == 48
    state = checkpoint.load(runs.latest_checkpoint(run_dir))
    assert state["epoch"] == 2 and state["step"] == 12 and state["complete"]
    grid = Image.open(result["grid"])
    assert grid.width > 8 * 16 and grid.height >= 2 * 16
    assert (run_dir / "samples" / "grid-epoch-0001.png").is_file(), "a grid at every checkpoint"
    assert (run_dir / "loss_curves.png").stat().st_size > 1000
    records = step_records(run_dir)
    assert [r["step"] for r in records] == list(range(1, 13))
    assert all(
        np.isfinite([r["loss_d"], r["loss_g"]]).all() and r["img_per_s"] > 0 for r in records
    )


def test_a_max_steps_run_says_where_it_stopped_and_is_not_complete(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It used to report "trained to epoch 0" and `status: complete` after 3 of 6 batches.
    from harness.cli import main

    args = ["train", str(tiny_team), "--data", str(tiny_data), "--runs", str(tmp_path / "runs")]
    with pytest.raises(SystemExit) as info:
        main([*args, "--max-steps", "3", "--epochs", "2"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert (
        "stopped at --max-steps 3 (step 3), 3 of 6 batches into epoch 1 of 2; not complete" in out
    )
    assert "trained to epoch 0" not in out
    (run_dir,) = (tmp_path / "runs" / "tiny").iterdir()
    assert runs.read_config(run_dir)["status"] == "max_steps"
    # --max-steps limits one session: resumed at step 3, six more steps end at step 9. It used
    # to count from the run's start (stopping at 6) and, resumed past it, train nothing.
    with pytest.raises(SystemExit):
        main([*args, "--resume", "latest", "--max-steps", "6", "--epochs", "2"])
    out = capsys.readouterr().out
    assert "stopped at --max-steps 6 (step 3 -> 9), 3 of 6 batches into epoch 2 of 2" in out
    with pytest.raises(SystemExit):
        main([*args, "--resume", "latest", "--max-steps", "2", "--epochs", "2"])
    assert "--max-steps 2 (step 9 -> 11)" in capsys.readouterr().out
    assert runs.read_config(run_dir)["steps_done"] == 11


def test_max_steps_on_resume_past_the_first_limit_still_trains(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    # The newcomer's case: stopped at 8, resumed with a smaller --max-steps 6; it trained 0.
    first = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"epochs": 3, "max_steps": 8},
        image_size=16,
    )
    again = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"max_steps": 6},
        resume="latest",
    )
    assert (first["steps_done"], again["steps_done"]) == (8, 14)
    assert again["session_start_step"] == 8 and again["status"] == "max_steps"


WGAN_VARIANT = {
    'loss = "bce"': 'loss = "wgan-gp"',
    "ema_decay=0.9)": 'ema_decay=0.9, n_critic=2, diffaugment="color,translation,cutout")',
}


@pytest.mark.parametrize("variant", [{}, WGAN_VARIANT], ids=["bce", "wgan-gp+diffaugment"])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(
    tiny_data: Path, tmp_path: Path, variant: dict[str, str]
) -> None:
    team = write_team(tmp_path / "submissions" / "tiny", variant)
    # image_size=16 skips the validation child: these runs test training, not validation.
    straight = train_team(
        team, data_root=tiny_data, runs_root=tmp_path / "a", overrides={"epochs": 3}, image_size=16
    )
    # Stop in the middle of the second epoch, then continue the same run to the end.
    first = train_team(
        team,
        data_root=tiny_data,
        runs_root=tmp_path / "b",
        overrides={"epochs": 3, "max_steps": 8},
        image_size=16,
    )
    assert first["steps_done"] == 8
    resumed = train_team(
        team,
        data_root=tiny_data,
        runs_root=tmp_path / "b",
        overrides={"epochs": 3},
        resume="latest",
    )
    assert resumed["run_id"] == first["run_id"] and resumed["steps_done"] == 18
    a, b = step_records(Path(straight["run_dir"])), step_records(Path(resumed["run_dir"]))
    assert [r["step"] for r in b] == list(range(1, 19)), "no repeated or missing records"
    for ra, rb in zip(a, b, strict=True):
        assert ra["loss_d"] == pytest.approx(rb["loss_d"], rel=1e-6, abs=1e-7), ra["step"]
        assert ("loss_g" in ra) == ("loss_g" in rb)
        if "loss_g" in ra:
            assert ra["loss_g"] == pytest.approx(rb["loss_g"], rel=1e-6, abs=1e-7), ra["step"]
    wa = checkpoint.load(runs.latest_checkpoint(Path(straight["run_dir"])))["generator"]
    wb = checkpoint.load(runs.latest_checkpoint(Path(resumed["run_dir"])))["generator"]
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6)


def test_an_interrupt_mid_step_stops_on_a_step_boundary(tiny_data: Path, tmp_path: Path) -> None:
    # Ctrl-C used to raise wherever it landed: mid-step (noise drawn, no step counted) or
    # mid-checkpoint (matplotlib half imported, the interrupt's own checkpoint then failed).
    # The flag lives in the run folder, the one place team code may write under strict
    # isolation; the uninterrupted run below uses the plain team, which has no such code.
    team = write_team(
        tmp_path / "submissions" / "tiny",
        {
            "        return torch.tanh(": "        self.calls = getattr(self, 'calls', 0) + 1\n"
            "        if self.calls == 13:\n"
            "            run_dir = json.loads(open(sys.argv[2]).read())['run_dir']\n"
            "            flag = os.path.join(run_dir, 'interrupted-once')\n"
            "            if not os.path.exists(flag):\n"
            "                open(flag, 'w').close()\n"
            "                os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came mid-forward\n"
            "        return torch.tanh(",
            "import torch\n": "import json\nimport os\nimport signal\nimport sys\n\nimport torch\n",
        },
    )
    plain = write_team(tmp_path / "plain" / "tiny")
    # The signal came from the child's own code, not from the harness: a team fault, but the
    # run still stopped on a step boundary with a checkpoint, as for a real Ctrl-C.
    with pytest.raises(TeamCodeError, match="interrupt the harness did not send"):
        train_team(
            team,
            data_root=tiny_data,
            runs_root=tmp_path / "b",
            overrides={"epochs": 3},
            image_size=16,
        )
    run_dir = runs.find_run(tmp_path / "b", "tiny")
    assert (run_dir / "interrupted-once").exists()
    assert runs.read_config(run_dir)["status"] == "interrupted"
    assert checkpoint.load(runs.latest_checkpoint(run_dir))["step"] == 7  # the step it was in
    resumed = train_team(
        team,
        data_root=tiny_data,
        runs_root=tmp_path / "b",
        overrides={"epochs": 3},
        resume="latest",
    )
    straight = train_team(
        plain, data_root=tiny_data, runs_root=tmp_path / "a", overrides={"epochs": 3}, image_size=16
    )
    a, b = step_records(Path(straight["run_dir"])), step_records(Path(resumed["run_dir"]))
    assert [r["step"] for r in b] == list(range(1, 19))
    for ra, rb in zip(a, b, strict=True):
        assert ra["loss_d"] == pytest.approx(rb["loss_d"], rel=1e-6, abs=1e-7), ra["step"]


def test_resume_refuses_changed_settings(tiny_team: Path, tiny_data: Path, tmp_path: Path) -> None:
    train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"epochs": 1}, image_size=16
    )
    with pytest.raises(HarnessError, match=r"lr_g 0\.001 -> 0\.5"):
        train_team(
            tiny_team,
            data_root=tiny_data,
            runs_root=tmp_path,
            overrides={"lr_g": 0.5},
            resume="latest",
        )


HarnessLauncher = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def harness_cli() -> Iterator[HarnessLauncher]:
    """Start ``python -m harness ARGS`` in its own session; at teardown, pass or fail, kill every
    process group it started. These runs ask for 100,000 epochs: a test that fails before its
    own kill would otherwise leave one training for hours (it happened once)."""
    started: list[subprocess.Popen[bytes]] = []

    def launch(args: list[str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
        # SIGINT back to its default: a shell's background job (`./scripts/test.sh &`) ignores
        # it, children inherit that, and Python then keeps ignoring it, so Ctrl-C tests would
        # hang.
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            cwd=cwd,
        )
        started.append(proc)
        return proc

    yield launch
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _endless_training(team: Path, data: Path, runs_root: Path) -> list[str]:
    """``harness train`` arguments for a run that only a kill or Ctrl-C ends."""
    return ["train", str(team), "--data", str(data), "--runs", str(runs_root), "--epochs", "100000"]


def _wait_for_epoch(
    runs_root: Path, at_least: int, proc: subprocess.Popen[bytes], limit: float = 300
) -> None:
    """Wait for an epoch checkpoint of ``at_least`` or later. Not for one fixed name: a run keeps
    only its newest two checkpoints, so on a fast machine ``epoch-0002.pt`` can come and go
    between two polls (CI once waited 300 s for one that had been written and pruned)."""
    deadline = time.monotonic() + limit
    while not any(
        int(path.stem.split("-")[1]) >= at_least
        for path in runs_root.glob("tiny/*/checkpoints/epoch-*.pt")
    ):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no epoch >= {at_least} checkpoint under {runs_root}"
        time.sleep(0.2)


def test_killed_run_resumes_from_its_last_checkpoint(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, harness_cli: HarnessLauncher
) -> None:
    runs_root = tmp_path / "runs"
    proc = harness_cli(_endless_training(tiny_team, tiny_data, runs_root))
    _wait_for_epoch(runs_root, 2, proc)
    # A hard kill of the training child and the harness, with no chance to clean up.
    child = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    os.kill(child, signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    run_dir = runs.find_run(runs_root, "tiny")
    saved = checkpoint.load(runs.latest_checkpoint(run_dir))["epoch"]
    assert saved >= 2
    result = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=runs_root,
        overrides={"epochs": saved + 2},
        resume="latest",
    )
    assert result["epochs_done"] == saved + 2 and result["run_id"] == run_dir.name
    steps = [r["step"] for r in step_records(run_dir)]
    assert steps == list(range(1, steps[-1] + 1)) and steps[-1] == 6 * (saved + 2)


@pytest.mark.parametrize("isolation", ["soft", pytest.param("strict", marks=requires_bwrap)])
def test_killing_the_harness_stops_its_training_child(
    tiny_team: Path,
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolation: str,
    harness_cli: HarnessLauncher,
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", isolation)
    runs_root = tmp_path / "runs"
    proc = harness_cli(_endless_training(tiny_team, tiny_data, runs_root))
    _wait_for_epoch(runs_root, 1, proc)
    child = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    job = [child, *job_descendants(child)]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while alive := [pid for pid in job if _running(pid)]:
        assert time.monotonic() < deadline, f"processes of the orphaned job kept running: {alive}"
        time.sleep(0.2)
    run_dir = runs.find_run(runs_root, "tiny")
    status = runs.read_config(run_dir)["status"]
    if isolation == "soft":
        assert status == "interrupted", "the orphan saved and stopped"
    else:  # the sandbox dies with the harness at once; the last checkpoint stays usable
        assert status == "training"
        assert checkpoint.load(runs.latest_checkpoint(run_dir))["epoch"] >= 1


def _running(pid: int) -> bool:
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, harness_cli: HarnessLauncher
) -> None:
    runs_root = tmp_path / "runs"
    proc = harness_cli(_endless_training(tiny_team, tiny_data, runs_root))
    _wait_for_epoch(runs_root, 1, proc)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert b"--resume" in err
    run_dir = runs.find_run(runs_root, "tiny")
    assert runs.read_config(run_dir)["status"] == "interrupted"
    assert checkpoint.load(runs.latest_checkpoint(run_dir))["step"] >= 6


def test_the_ctrl_c_resume_hint_works_when_pasted(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, harness_cli: HarnessLauncher
) -> None:
    # The hint used to leave out --data (and --runs), so pasting it failed with "data folder
    # data/facemask does not exist". Started from tmp_path with relative paths, as a user
    # types them; the run records its data folder, so the hint needs no --data.
    assert tiny_team == tmp_path / "submissions" / "tiny"
    args = ["train", "submissions/tiny", "--data", str(tiny_data), "--runs", "out/runs"]
    proc = harness_cli([*args, "--epochs", "100000"], cwd=tmp_path)
    runs_root = tmp_path / "out" / "runs"
    _wait_for_epoch(runs_root, 1, proc)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    hint = err.decode().split("resume with `")[1].split("`")[0]
    run_dir = runs.find_run(runs_root, "tiny")
    assert hint == f"harness train submissions/tiny --resume {run_dir.name} --runs out/runs"
    assert runs.read_config(run_dir)["data_root"] == str(tiny_data.resolve())
    stopped = checkpoint.load(runs.latest_checkpoint(run_dir))["step"]
    # Paste it: the same run continues (on its own data) until the next Ctrl-C.
    words = shlex.split(hint)
    assert words[0] == "harness"
    again = harness_cli(words[1:], cwd=tmp_path)
    _wait_for_epoch(runs_root, stopped // 6 + 1, again)
    os.kill(again.pid, signal.SIGINT)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 130, err.decode()
    assert f"resume with `{hint}`" in err.decode()
    assert checkpoint.load(runs.latest_checkpoint(run_dir))["step"] > stopped
    assert [p.name for p in (runs_root / "tiny").iterdir()] == [run_dir.name]


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(
    tiny_data: Path, tmp_path: Path
) -> None:
    team = write_team(
        tmp_path / "submissions" / "nan",
        {
            "        return torch.tanh(": "        self.calls = getattr(self, 'calls', 0) + 1\n"
            "        if self.calls > 30:\n            return z.sum() * float('nan') + torch.zeros(len(z), 3, SIZE, SIZE)\n"
            "        return torch.tanh(",
        },
    )
    with pytest.raises(
        TeamCodeError, match=r"NaN or infinite by step \d+ .*last checkpoint is intact"
    ):
        train_team(
            team,
            data_root=tiny_data,
            runs_root=tmp_path / "runs",
            overrides={"epochs": 10},
            image_size=16,
        )
    run_dir = runs.find_run(tmp_path / "runs", "nan")
    state = checkpoint.load(runs.latest_checkpoint(run_dir))
    assert state["batch"] == 0 and state["epoch"] >= 1
    assert all(torch.isfinite(v).all() for v in state["generator"].values())


PEEK_AFTER_VALIDATION = """        self.calls = getattr(self, "calls", 0) + 1
        if self.calls > 5:  # past validation's few calls: inside the training child
            {peek}
        return torch.tanh("""


@pytest.mark.parametrize(
    "how", ["open({file!r}, 'rb').read()", "__import__('os').listdir({folder!r})"]
)
def test_training_code_cannot_reach_the_held_out_split(
    tiny_data: Path, tmp_path: Path, how: str
) -> None:
    test_file = next((tiny_data / "test" / "with_mask").iterdir())
    peek = how.format(file=str(test_file), folder=str(tiny_data / "test"))
    team = write_team(
        tmp_path / "submissions" / "peeker",
        {"        return torch.tanh(": PEEK_AFTER_VALIDATION.format(peek=peek)},
    )
    with pytest.raises(
        TeamCodeError, match=r"step|held-out test data is not available to team code"
    ) as info:
        train_team(team, data_root=tiny_data, runs_root=tmp_path / "runs", overrides={"epochs": 1})
    assert "held-out test data is not available to team code" in str(info.value)


def test_training_child_sees_only_train_images(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    result = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"max_steps": 1}
    )
    config = runs.read_config(Path(result["run_dir"]))
    assert config["train_images"] == 48
    from harness import data

    assert config["data_fingerprint_train"] == data.split_fingerprint(tiny_data, "train")


def test_memory_limit_stops_a_greedy_child(tmp_path: Path) -> None:
    # 128 MiB at a time, so that the poll of the job's memory sees it pass 1.5 GiB long before
    # the per-process ceiling (RLIMIT_DATA, twice the limit) would turn it into a MemoryError.
    team = write_team(
        tmp_path / "greedy",
        {
            "import torch\n": "import time\nimport numpy as np\nimport torch\nhog = []\n"
            "for _ in range(24):\n    hog.append(np.ones(2**27, dtype=np.uint8))\n"
            "    time.sleep(0.1)\n"
        },
    )
    with pytest.raises(TeamCodeError, match=r"over the 1\.5 GiB limit"):
        run_child(
            "validate", {"team_dir": str(team)}, label="greedy", limits=Limits(memory_gib=1.5)
        )


def test_a_run_made_before_a_setting_existed_still_resumes(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """A TrainConfig field added later (here ``augment``) is absent from older runs' configs:
    resume must read it as its default then, not as a change of settings."""
    first = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"epochs": 1}, image_size=16
    )
    run_dir = Path(first["run_dir"])
    config = runs.read_config(run_dir)
    del config["train_config"]["augment"]
    runs.write_config(run_dir, config)
    again = train_team(
        tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={"epochs": 2}, resume="latest"
    )
    assert again["epochs_done"] == 2 and again["run_id"] == run_dir.name


def test_bf16_autocast_runs_on_the_cpu_as_it_does_on_a_gpu(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """The mixed-precision branch every GPU user takes, run in CI on the CPU: one step."""
    runs_bf16, runs_fp32 = tmp_path / "bf16", tmp_path / "fp32"
    bf16 = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=runs_bf16,
        overrides={"max_steps": 1},
        image_size=16,
        precision="bf16",
    )
    fp32 = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=runs_fp32,
        overrides={"max_steps": 1},
        image_size=16,
    )
    assert bf16["steps_done"] == 1 and fp32["steps_done"] == 1
    assert runs.read_config(Path(bf16["run_dir"]))["precision"] == "bf16"
    assert runs.read_config(Path(fp32["run_dir"]))["precision"] == "fp32", "auto is fp32 on CPU"
    (a,), (b,) = step_records(Path(bf16["run_dir"])), step_records(Path(fp32["run_dir"]))
    assert np.isfinite([a["loss_d"], a["loss_g"]]).all()
    # Same seed, same batch: only bf16 rounding tells the two apart, so autocast really ran.
    assert a["loss_d"] != b["loss_d"] and a["loss_d"] == pytest.approx(b["loss_d"], rel=0.05)
    weights = checkpoint.load(runs.latest_checkpoint(Path(bf16["run_dir"])))["generator"]
    assert all(t.dtype == torch.float32 for t in weights.values()), "weights stay fp32"


def test_an_unknown_precision_is_one_error(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    with pytest.raises(HarnessError, match="unknown precision 'fp8'; use auto, fp32, bf16"):
        train_team(
            tiny_team, data_root=tiny_data, runs_root=tmp_path, overrides={}, precision="fp8"
        )
    assert not (tmp_path / "tiny").exists()
