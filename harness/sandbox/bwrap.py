"""The bubblewrap command line of one job: a pure function from what the job needs to argv.

A job sees a filesystem built from nothing: the system's programs and libraries (``/usr`` and
the merged-usr links), a few harmless files of ``/etc`` (the dynamic linker's cache, fonts,
time zone, user names), the Python installation, the harness package, and then only what the
job was given (:class:`JobAccess`): the team's folder and the train cache read-only, its run
folder writable. Everything else, the held-out ``test`` split, its caches, the split
assignment, the leaderboard, other teams' folders and runs, the user's home, is simply not
there. A path the job must never see that happens to lie inside a bound folder (a data set
kept under ``/usr/share``, say) is covered by an empty tmpfs.

The job also gets new user, PID, IPC, UTS, network and cgroup namespaces (``--unshare-all``:
the parent's ``/proc`` entries and every network, loopback to the host included, are out of
reach), its own session (no keystrokes pushed into the user's terminal), a private ``/tmp``
of bounded size, and dies with the harness (``--die-with-parent``; the PID namespace takes
every process it started along). On a machine with NVIDIA GPUs the device nodes are bound in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
)
GPU_DEVICE_PATTERNS = ("nvidia*", "nvidia-caps", "dri")
TMP_SIZE_BYTES = 4 * 2**30


@dataclass(frozen=True)
class JobAccess:
    """What one job may touch; under bwrap nothing else of the filesystem exists.

    Attributes:
        read_only: files and folders bound read-only (the team folder, the train cache...).
        writable: folders bound writable (the run folder, the job's own request folder).
        hidden: paths that must never be visible (the data folder, held-out caches), covered
            when they lie inside something bound; also refused by the child's audit hook.
    """

    read_only: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostLayout:
    """What of this machine every job needs: found by :func:`host_layout`, passed in so that
    :func:`bwrap_argv` stays a pure function that tests can feed with any machine's shape."""

    system: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    devices: tuple[str, ...] = ()
    sys_fs: bool = False
    extra: tuple[str, ...] = field(default=())


def _depth(path: str) -> int:
    return len(Path(path).parts)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def bwrap_argv(
    command: Sequence[str],
    *,
    access: JobAccess,
    host: HostLayout,
    bwrap: str = "bwrap",
    chdir: str = "/tmp",
    tmp_size_bytes: int = TMP_SIZE_BYTES,
) -> list[str]:
    """The full ``bwrap ... -- command`` argv for one job.

    Mounts go in order of depth, so that a folder bound inside another (the run folder inside
    the private ``/tmp``, a mask inside ``/usr``) lands on top of it; the root is remounted
    read-only last, so that only the writable binds and ``/tmp`` take writes.

    Args:
        command: what to run inside (``python -m harness.entry.worker JOB REQUEST``).
        access: the job's own paths.
        host: the machine's system paths, merged-usr links and device nodes.
        bwrap: the bwrap executable.
        chdir: the working directory inside.
        tmp_size_bytes: size of the private ``/tmp``.
    """
    argv = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(tmp_size_bytes),
        "--tmpfs",
        "/tmp",
    ]
    for target, name in host.links:
        argv += ["--symlink", target, name]
    mounts: list[tuple[str, list[str]]] = []
    for path in [*host.system, *host.extra]:
        mounts.append((path, ["--ro-bind", path, path]))
    for path in access.read_only:  # a missing team folder is the worker's error to report
        mounts.append((path, ["--ro-bind-try", path, path]))
    bound_ro = [*host.system, *host.extra, *access.read_only]
    for path in access.writable:
        mounts.append((path, ["--bind", path, path]))
    sources = [*bound_ro, *access.writable]
    masks = [
        hidden
        for hidden in access.hidden
        if any(_inside(hidden, s) and hidden != s for s in sources) and os.path.exists(hidden)
    ]
    mounts += [(hidden, ["--size", "4096", "--tmpfs", hidden]) for hidden in masks]
    for _, args in sorted(mounts, key=lambda m: _depth(m[0])):
        argv += args
    if host.sys_fs:
        argv += ["--ro-bind", "/sys", "/sys"]
    for node in host.devices:
        argv += ["--dev-bind", node, node]
    for hidden in masks:
        argv += ["--remount-ro", hidden]
    argv += ["--remount-ro", "/", "--chdir", chdir, "--", *command]
    return argv


def gpu_device_nodes(dev: Path = Path("/dev")) -> tuple[str, ...]:
    """The NVIDIA (and DRM) device nodes of this machine: what a CUDA job needs in ``/dev``."""
    found: set[Path] = set()
    for pattern in GPU_DEVICE_PATTERNS:
        found.update(dev.glob(pattern))
    return tuple(sorted(str(p) for p in found))


def _existing(paths: Iterable[str | Path]) -> list[str]:
    out: list[str] = []
    for path in paths:
        text = os.path.abspath(str(path))
        if os.path.exists(text) and text not in out:
            out.append(text)
    return out


def python_paths() -> list[str]:
    """The Python installation a job runs on: the venv, the base interpreter, site-packages."""
    import site

    paths: list[str | Path] = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    paths += site.getsitepackages()
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    executable = Path(sys.executable)
    paths += [executable.parent, Path(os.path.realpath(executable)).parent]
    return _prune_nested(_existing(paths))


def _prune_nested(paths: list[str]) -> list[str]:
    """Drop paths inside another path of the list (binding the outer one covers them)."""
    return [p for p in paths if not any(q != p and _inside(p, q) for q in paths)]


def host_layout(
    root: Path = Path("/"), extra: Iterable[str] = (), dev: Path = Path("/dev")
) -> HostLayout:
    """This machine's system folders, merged-usr links, Python, harness and GPU nodes.

    Args:
        root: the file system root (a test may pass a fake one).
        extra: further read-only paths (the harness package, library folders).
        dev: where device nodes live.
    """
    system = [str(root / "usr")]
    links: list[tuple[str, str]] = []
    for name in MERGED_USR_LINKS:
        path = root / name
        if path.is_symlink():
            links.append((os.readlink(path), f"/{name}"))
        elif path.is_dir():
            system.append(str(path))
    system += [str(root / "etc" / name) for name in ETC_FILES if (root / "etc" / name).exists()]
    library_dirs = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    wanted = _existing([*python_paths(), *extra, *filter(None, library_dirs)])
    devices = gpu_device_nodes(dev)
    return HostLayout(
        system=tuple(system),
        links=tuple(links),
        devices=devices,
        sys_fs=bool(devices),
        extra=tuple(p for p in _prune_nested(wanted) if not any(_inside(p, s) for s in system)),
    )
