"""The bwrap argument list and the environment allow-list: pure functions, checked without bwrap."""

from __future__ import annotations

from pathlib import Path

from harness.sandbox.bwrap import HostLayout, JobAccess, bwrap_argv, gpu_device_nodes, host_layout
from harness.sandbox.environment import soft_env, strict_env

HOST = HostLayout(
    system=("/usr", "/etc/ld.so.cache"),
    links=(("usr/lib", "/lib"), ("usr/bin", "/bin")),
    extra=("/opt/venv", "/opt/harness-src/harness"),
)
COMMAND = [
    "/opt/venv/bin/python",
    "-m",
    "harness.entry.worker",
    "train",
    "/tmp/job/io/request.json",
]


def pairs(argv: list[str], option: str) -> list[str]:
    """The first argument of every ``option`` in ``argv``."""
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]


def test_a_job_gets_new_namespaces_its_own_session_and_dies_with_the_harness() -> None:
    argv = bwrap_argv(COMMAND, access=JobAccess(), host=HOST, bwrap="/usr/bin/bwrap")
    assert argv[0] == "/usr/bin/bwrap"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--share-net" not in argv, "the network stays unshared, loopback included"
    assert pairs(argv, "--proc") == ["/proc"] and pairs(argv, "--dev") == ["/dev"]
    assert pairs(argv, "--tmpfs")[0] == "/tmp", "a private /tmp"
    separator = argv.index("--")
    assert argv[separator + 1 :] == COMMAND
    assert argv[separator - 4 : separator] == ["--remount-ro", "/", "--chdir", "/tmp"], (
        "the root is made read-only after every mount"
    )


def test_only_what_the_job_was_given_is_bound() -> None:
    access = JobAccess(
        read_only=("/srv/comp/submissions/team2", "/home/u/.cache/harness/images/train-x"),
        writable=("/srv/comp/runs/team2/20260101-000000", "/tmp/harness-child-1-x/io"),
        hidden=("/srv/comp/data/facemask",),
    )
    argv = bwrap_argv(COMMAND, access=access, host=HOST)
    assert pairs(argv, "--ro-bind-try") == list(access.read_only)
    assert sorted(pairs(argv, "--bind")) == sorted(access.writable)
    bound = set(pairs(argv, "--ro-bind") + pairs(argv, "--ro-bind-try") + pairs(argv, "--bind"))
    assert bound == {*HOST.system, *HOST.extra, *access.read_only, *access.writable}
    for absent in ("/srv/comp", "/srv/comp/data/facemask", "/home/u", "/srv/comp/leaderboard"):
        assert absent not in argv, f"{absent} must not be bound"
    assert pairs(argv, "--symlink") == ["usr/lib", "usr/bin"]


def test_mounts_go_shallow_to_deep_so_nested_binds_land_on_top() -> None:
    access = JobAccess(writable=("/tmp/pytest/runs/tiny/1", "/tmp/job/io"))
    argv = bwrap_argv(COMMAND, access=access, host=HOST)
    tmpfs = argv.index("/tmp")  # the private /tmp comes before anything bound inside it
    assert all(argv.index(path) > tmpfs for path in access.writable)
    assert argv.index("/usr") < argv.index("/opt/harness-src/harness")


def test_a_hidden_folder_inside_a_bound_one_is_covered(tmp_path: Path) -> None:
    system = tmp_path / "usr"
    data = system / "share" / "facemask"
    data.mkdir(parents=True)
    host = HostLayout(system=(str(system),))
    access = JobAccess(hidden=(str(data), str(tmp_path / "elsewhere")))
    argv = bwrap_argv(COMMAND, access=access, host=host)
    assert pairs(argv, "--tmpfs") == ["/tmp", str(data)]
    assert argv.index(str(data)) > argv.index(str(system)), "the cover goes over the bind"
    assert str(data) in pairs(argv, "--remount-ro")
    assert str(tmp_path / "elsewhere") not in argv, "a path not bound needs no cover"


def test_gpu_device_nodes_are_found_and_bound(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    (dev / "dri").mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null", "sda"):
        (dev / name).touch()
    nodes = gpu_device_nodes(dev)
    assert [Path(n).name for n in nodes] == [
        "dri",
        "nvidia-caps",
        "nvidia-uvm",
        "nvidia0",
        "nvidia1",
        "nvidiactl",
    ]
    host = host_layout(dev=dev)
    assert host.devices == nodes and host.sys_fs
    argv = bwrap_argv(COMMAND, access=JobAccess(), host=host)
    assert pairs(argv, "--dev-bind") == list(nodes)
    assert "/sys" in pairs(argv, "--ro-bind")


def test_no_gpu_means_no_device_binds_and_no_sys(tmp_path: Path) -> None:
    (tmp_path / "null").touch()
    host = host_layout(dev=tmp_path)
    argv = bwrap_argv(COMMAND, access=JobAccess(), host=host)
    assert "--dev-bind" not in argv and "/sys" not in argv


def test_host_layout_follows_merged_usr_and_binds_the_python_in_use(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "bin").symlink_to("usr/bin")
    (tmp_path / "lib64").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ld.so.cache").touch()
    (tmp_path / "etc" / "shadow").touch()
    host = host_layout(root=tmp_path, dev=tmp_path)
    assert ("usr/bin", "/bin") in host.links
    assert str(tmp_path / "lib64") in host.system
    assert str(tmp_path / "etc" / "ld.so.cache") in host.system
    assert str(tmp_path / "etc" / "shadow") not in host.system, "no secrets from /etc"
    import sys

    assert any(sys.prefix.startswith(p) for p in host.extra), "the interpreter's prefix"


def test_the_sandbox_environment_is_an_allow_list() -> None:
    parent = {
        "HOME": "/home/u",
        "PATH": "/home/u/bin:/usr/bin",
        "HARNESS_DATA": "/srv/comp/data",
        "AWS_SECRET_ACCESS_KEY": "x",
        "GITHUB_TOKEN": "y",
        "LC_ALL": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "1",
        "HARNESS_THREADS": "4",
        "PYTHONPATH": "/home/u/repo",
    }
    env = strict_env(Path("/opt/harness-src"), parent)
    assert env["HOME"] == "/tmp" and env["TMPDIR"] == "/tmp"
    assert env["PYTHONPATH"] == "/opt/harness-src"
    assert env["LC_ALL"] == "C.UTF-8" and env["CUDA_VISIBLE_DEVICES"] == "1"
    assert env["HARNESS_THREADS"] == "4"
    for name in ("HARNESS_DATA", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"):
        assert name not in env
    assert not any("/home/u" in v for v in env.values()), "nothing points into the home"


def test_the_soft_environment_loses_the_harness_paths() -> None:
    parent = {"HOME": "/home/u", "HARNESS_DATA": "d", "HARNESS_CACHE": "c", "HARNESS_RUNS": "r"}
    assert soft_env(parent) == {"HOME": "/home/u", "PYTHONUNBUFFERED": "1"}
