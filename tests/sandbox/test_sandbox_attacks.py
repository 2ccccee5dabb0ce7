"""The hostile-team suite: attacks from inside ``validate``, ``train`` and ``sample``.

Each attack is a small team folder made here. The spy (``hostile_probe.py``) tries every route
to the held-out images it knows (Python, subprocesses, libc through ctypes, directory file
descriptors, hard links, OpenCV, torchvision, ``torch.from_file``, ``/proc``, a walk from
``/``), the held-out caches, another team's code and run, the leaderboard, the user's home and
a socket on 127.0.0.1, and reports what it got; the test checks the files and the socket
itself too. The faulty teams fork 200 processes, leave ``setsid`` processes behind, allocate
far past the memory limit, print 100 MB, exit before reporting, forge a result, or plant links
out of their run folder (one, at exit, turns ``config.json`` into a link to the split file);
other teams hand in a ``checkpoint.pt`` linked to a victim's and a ``samples/`` folder of links
to the test images (issue 21; every file of the class is in ``test_links_refused.py``).

Under strict isolation every attack must fail in every job. Under soft isolation the suite
pins down which attacks still succeed, so that the account of soft mode in
``docs/guide/isolation.md`` (its attack table) stays true.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from harness.data.cache import cached_split, heldout_cache_root
from harness.data.demo import make_demo_dataset
from harness.data.split import make_split, split_path
from harness.errors import HarnessError
from harness.sandbox import limits as limits_module
from harness.sandbox.limits import job_limits
from harness.sandbox.runner import forbidden_paths
from harness.scoring.sample import sample_team
from harness.training.train import train_team, validate_team
from tests.conftest import requires_bwrap, write_team

pytestmark = pytest.mark.slow  # about thirty child jobs in all

HERE = Path(__file__).parent
PHASES = ("validate", "train", "sample")
SIZE = 16
# Routes that reach their goal under soft isolation (in at least one job): the audit hook sees
# Python-level opens only, and the child shares the machine's file system, network and /proc.
SOFT_GAPS = {
    "subprocess_cat",
    "subprocess_ls",
    "os_system",
    "os_link",
    "ctypes_open",
    "ctypes_fopen",
    "cv2_imread",
    "torchvision_decode",
    "torch_from_file",
    "heldout_tensors_ctypes",
    "data_root_listing",
    "other_team_code",
    "home_secret",
    "write_leaderboard",
    "write_victim_run",
    "write_victim_code",
    "write_heldout_tensors",
    "write_own_team_folder",
    "write_train_cache",
    "connect_loopback",
}
# Routes the audit hook (or the hashed paths) still stop under soft isolation. The rest
# (a walk from /, the parent's command line and environment, mountinfo) depend on how the
# harness was started and how long a walk of this machine takes, so they are not pinned.
SOFT_BLOCKED = {
    "python_open",
    "os_listdir",
    "dir_fd_listdir",
    "dir_fd_open",
    "proc_parent_root",
    "proc_1_root",
    "pil_open",
    "numpy_fromfile",
    "heldout_tensors",
    "real_statistics",
    "request_names_data",
}


class LoopbackServer:
    """A socket on 127.0.0.1 that counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = self.sock.accept()
                self.connections += 1
                connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Arena:
    """A competition in a temporary folder: data, held-out caches, a board, a victim team."""

    root: Path
    data: Path
    runs: Path
    submissions: Path
    server: LoopbackServer
    guarded: dict[str, Path] = field(default_factory=dict)

    def snapshot(self) -> dict[str, str]:
        """Hashes of every file an attack must not change."""
        return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in self.guarded.items()}

    def targets(self) -> dict[str, object]:
        """What the hostile team is assumed to know (the worst case: every path)."""
        test_dir = self.data / "test" / "with_mask"
        return {
            "test_file": str(sorted(test_dir.iterdir())[0]),
            "test_dir": str(test_dir),
            "data_root": str(self.data),
            "heldout_images": str(self.guarded["heldout_images"]),
            "heldout_stats": str(self.guarded["heldout_stats"]),
            "leaderboard": str(self.guarded["leaderboard"]),
            "victim_model": str(self.guarded["victim_model"]),
            "victim_checkpoint": str(self.guarded["victim_checkpoint"]),
            "victim_run": str(self.guarded["victim_checkpoint"].parent.parent),
            "home_secret": str(self.root / "home" / "secret.txt"),
            "port": self.server.port,
        }


@pytest.fixture
def arena(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "secret.txt").write_text("secret token\n")
    data = make_demo_dataset(
        tmp_path / "data" / "facemask", train_per_class=8, test_per_class=4, size=32, seed=2
    )
    heldout = cached_split(data, "test", SIZE, progress=False)
    stats = heldout_cache_root() / "stats" / "reference.npz"
    stats.parent.mkdir(parents=True)
    np.savez(stats, mu=np.zeros(4), sigma=np.eye(4))
    board = tmp_path / "leaderboard" / "results.csv"
    board.parent.mkdir()
    board.write_text("team,score,status\nvictim,500.0,ok\n")
    victim = write_team(tmp_path / "submissions" / "victim")
    victim_ckpt = tmp_path / "runs" / "victim" / "20260101-000000" / "checkpoints" / "epoch-0001.pt"
    victim_ckpt.parent.mkdir(parents=True)
    victim_ckpt.write_bytes(b"the victim's weights")
    server = LoopbackServer()
    yield Arena(
        root=tmp_path,
        data=data,
        runs=tmp_path / "runs",
        submissions=tmp_path / "submissions",
        server=server,
        guarded={
            "heldout_images": heldout.folder / "images.npy",
            "heldout_stats": stats,
            "leaderboard": board,
            "victim_model": victim / "model.py",
            "victim_checkpoint": victim_ckpt,
        },
    )
    server.close()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the honest tiny team, lent to faulty teams for their ``sample`` job."""
    base = tmp_path_factory.mktemp("lender")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE", str(base / "cache"))
        data = make_demo_dataset(base / "data", train_per_class=8, test_per_class=2, size=32)
        result = train_team(
            write_team(base / "submissions" / "tiny"),
            data_root=data,
            runs_root=base / "runs",
            overrides={"max_steps": 1},
            image_size=SIZE,
        )
    return Path(result["run_dir"])


def hostile_team(arena: Arena, name: str, module: str, config: dict[str, object]) -> Path:
    """A tiny honest GAN whose model.py imports ``module`` (the probe or the faults)."""
    team = write_team(
        arena.submissions / name,
        {"import torch\n": f"import torch\n\nimport {module}  # noqa: F401\n"},
    )
    shutil.copy(HERE / f"{module}.py", team / f"{module}.py")
    (team / ("targets.json" if module == "hostile_probe" else "fault.json")).write_text(
        json.dumps(config)
    )
    return team


def run_job(arena: Arena, team: Path, phase: str, lent_run: Path | None = None) -> object:
    """Run one job of ``team`` the way the harness's commands do."""
    if phase == "validate":
        return validate_team(team, arena.data)
    if phase == "train":
        return train_team(
            team,
            data_root=arena.data,
            runs_root=arena.runs,
            overrides={"max_steps": 1},
            image_size=SIZE,
        )
    if lent_run is not None:
        shutil.copytree(lent_run, arena.runs / team.name / lent_run.name)
    return sample_team(
        team,
        runs_root=arena.runs,
        n_per_class=4,
        limits=job_limits("sample"),
        forbidden=forbidden_paths(arena.data),
    )


def spy_reports(arena: Arena, capfd: pytest.CaptureFixture[str]) -> dict[str, dict[str, bool]]:
    """Run the spy through validate, train and sample; return each job's report."""
    team = hostile_team(arena, "spy", "hostile_probe", arena.targets())
    for phase in PHASES:
        run_job(arena, team, phase)
    reports = {}
    for line in capfd.readouterr().err.splitlines():
        if line.startswith("HOSTILE-REPORT "):
            report = json.loads(line.removeprefix("HOSTILE-REPORT "))
            reports[report["job"]] = report["results"]
    return reports


def survivors(marker: str) -> list[int]:
    """Processes on this machine whose command line carries ``marker``, zombies aside."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
    return found


def wait_for_no_survivors(marker: str, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (alive := survivors(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


@contextlib.contextmanager
def marked_processes() -> object:
    """A marker for spawned processes; any still alive at the end are killed."""
    marker = f"{3000 + os.getpid() % 1000}.{time.monotonic_ns() % 10**6:06d}"
    try:
        yield marker
    finally:
        for pid in survivors(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@requires_bwrap
def test_strict_isolation_stops_every_attack_in_every_job(
    arena: Arena, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    before = arena.snapshot()
    reports = spy_reports(arena, capfd)
    assert set(reports) == set(PHASES), "the spy ran in every job"
    got = sorted(
        f"{job}: {route}" for job, results in reports.items() for route, ok in results.items() if ok
    )
    assert not got, f"attacks that got through strict isolation: {got}"
    assert arena.snapshot() == before, "a guarded file changed"
    assert arena.server.connections == 0, "the spy reached 127.0.0.1"
    assert not (arena.submissions / "spy" / "planted.txt").exists()
    assert not list((arena.root / "cache").rglob("planted.txt")), "the spy wrote in the cache"


def test_soft_isolation_leaves_the_documented_gaps(
    arena: Arena, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "soft")
    reports = spy_reports(arena, capfd)
    assert set(reports) == set(PHASES)
    succeeded = {route for results in reports.values() for route, ok in results.items() if ok}
    print("soft isolation, attacks that succeeded:", sorted(succeeded))
    assert succeeded >= SOFT_GAPS, f"soft mode now stops {sorted(SOFT_GAPS - succeeded)}"
    assert not succeeded & SOFT_BLOCKED, f"soft mode no longer stops {succeeded & SOFT_BLOCKED}"
    assert arena.server.connections > 0


FAULTS = [
    ("fork", r"ran \d+ processes at once, over the limit of 64"),
    ("spawn_and_exit", r"exited with code 0 before reporting a result"),
    ("memory", r"MemoryError|memory limit|over the 2 GiB limit"),
    ("exit_early", r"exited with code 0 before reporting a result"),
    ("forge", r"malformed result \(.*\); team code may have written it"),
]


def strike(
    arena: Arena,
    fault: str,
    phase: str,
    marker: str,
    trained_run: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run a team with ``fault`` in ``phase``, under 2 GiB memory limits everywhere."""
    for job in PHASES:
        patched = replace(limits_module.DEFAULTS[job], memory_gib=2.0)
        monkeypatch.setitem(limits_module.DEFAULTS, job, patched)
    config = {"fault": fault, "phase": phase, "marker": marker}
    team = hostile_team(arena, f"{fault}-{phase}".replace("_", "-"), "hostile_faults", config)
    run_job(arena, team, phase, lent_run=trained_run)


@requires_bwrap
@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize(("fault", "message"), FAULTS)
def test_strict_faults_end_in_one_error_and_leave_no_process(
    arena: Arena,
    trained_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    message: str,
    phase: str,
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    with marked_processes() as marker:
        with pytest.raises(HarnessError, match=message) as info:
            strike(arena, fault, phase, marker, trained_run, monkeypatch)
        assert "\n" not in str(info.value)
        assert not wait_for_no_survivors(marker), "a process of the job outlived it"


@pytest.mark.parametrize(
    ("fault", "message", "leaves_processes"),
    [(*f, f[0] == "spawn_and_exit") for f in FAULTS],
)
def test_soft_faults_are_reported_and_setsid_orphans_are_a_gap(
    arena: Arena,
    trained_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    message: str,
    leaves_processes: bool,
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "soft")
    with marked_processes() as marker:
        with pytest.raises(HarnessError, match=message):
            strike(arena, fault, "validate", marker, trained_run, monkeypatch)
        left = wait_for_no_survivors(marker, timeout_s=3.0)
        assert bool(left) == leaves_processes, left


@requires_bwrap
@pytest.mark.parametrize("phase", PHASES)
def test_a_100_mb_print_is_cut_and_the_job_still_succeeds(
    arena: Arena,
    trained_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    phase: str,
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    with marked_processes() as marker:
        strike(arena, "print_flood", phase, marker, trained_run, monkeypatch)
    err = capfd.readouterr().err
    cap = job_limits(phase).output_mib
    assert cap is not None and len(err) < (cap + 1) * 2**20
    assert re.search(rf"output cut after {cap:g} MiB", err)


@requires_bwrap
def test_forged_samples_and_planted_links_buy_nothing(
    arena: Arena, trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    with marked_processes() as marker:
        with pytest.raises(HarnessError, match=r"unreadable|does not exist"):
            strike(arena, "forge_samples", "sample", marker, trained_run, monkeypatch)
        targets = arena.targets()
        config = {"fault": "link_out", "phase": "train", "marker": marker, **targets}
        team = hostile_team(arena, "linker", "hostile_faults", config)
        run_job(arena, team, "train")  # a forged success, links planted in its run folder
        with pytest.raises(HarnessError, match=r"latest\.json names .*, not a file in checkpoints"):
            run_job(arena, team, "sample")


def _regular_files_hold(secret: bytes, folders: list[Path]) -> list[str]:
    """Regular files (links not followed) under ``folders`` whose bytes contain ``secret``."""
    found = []
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = Path(dirpath) / name
                if not path.is_symlink() and path.is_file() and secret in path.read_bytes():
                    found.append(str(path))
    return found


@requires_bwrap
def test_a_config_linked_to_the_split_by_team_code_is_refused_not_copied(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    make_split(arena.data, public_fraction=0.5, seed=424242)
    secret = split_path(arena.data).read_bytes()
    config = {"fault": "link_config", "phase": "train", "marker": "-", "split_file": ""}
    config["split_file"] = str(split_path(arena.data))
    team = hostile_team(arena, "relinker", "hostile_faults", config)
    with pytest.raises(HarnessError, match=r"config\.json is a symbolic link") as info:
        run_job(arena, team, "train")  # the parent stamps the run's isolation after the job
    assert "\n" not in str(info.value)
    with pytest.raises(HarnessError, match=r"config\.json is a symbolic link"):
        run_job(arena, team, "sample")
    assert not _regular_files_hold(secret, [arena.runs / "relinker", team])
    (run,) = [p for p in (arena.runs / "relinker").iterdir() if p.is_dir()]
    assert (run / "config.json").is_symlink(), "the parent rewrote the link as a file"


@requires_bwrap
def test_handed_in_links_to_a_victim_or_the_test_images_are_refused_not_bound(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.scoring.score import Scorer, ScoreSettings

    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    settings = ScoreSettings(n_per_class=4, bootstrap=0, dims=64, samples_image_size=SIZE)
    scorer = Scorer(data_root=arena.data, runs_root=arena.runs, settings=settings, say=print)
    borrower = write_team(arena.submissions / "borrower")
    (borrower / "checkpoint.pt").symlink_to(arena.guarded["victim_checkpoint"])
    with pytest.raises(HarnessError, match=r"^borrower: checkpoint\.pt is a symbolic link"):
        scorer.score_team(borrower)
    copier = arena.submissions / "copier"
    for name in ("with_mask", "without_mask"):
        folder = copier / "samples" / name
        folder.mkdir(parents=True)
        for image in sorted((arena.data / "test" / name).iterdir()):
            (folder / image.name).symlink_to(os.path.relpath(image, folder))
    with pytest.raises(HarnessError, match=r"^copier: samples/\w+/.* is a symbolic link"):
        scorer.score_team(copier)
    assert not list(arena.runs.glob("borrower/**/*.npz")) + list(arena.runs.glob("copier/**/*"))
