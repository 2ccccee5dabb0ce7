"""The processes of one job, read from ``/proc``: who they are, how much memory, how to end them.

A job is its first process and every descendant, found by parent links rather than by process
group: a team's process that calls ``setsid`` leaves the group but not the tree (the worker is
a child subreaper, so orphans stay under it). Under bwrap the tree is the whole PID namespace,
because orphans there are adopted by the namespace's init, itself a descendant.

Memory is the proportional set size (``Pss`` in ``smaps_rollup``): pages shared by forked
DataLoader workers count once in all, where summing resident sizes counted them per process.
"""

from __future__ import annotations

import contextlib
import os
import signal

PROC = "/proc"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"{PROC}/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent_links() -> dict[int, int]:
    """``pid -> parent pid`` of every process visible in ``/proc``."""
    links = {}
    for entry in os.listdir(PROC):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and len(fields) > 1:
                links[int(entry)] = int(fields[1])
    return links


def descendants(root: int, links: dict[int, int] | None = None) -> dict[int, int]:
    """Every process below ``root`` with its depth (1 for children, 2 for grandchildren...)."""
    links = parent_links() if links is None else links
    children: dict[int, list[int]] = {}
    for pid, parent in links.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    frontier = [(root, 0)]
    while frontier:
        pid, depth = frontier.pop()
        for child in children.get(pid, ()):
            if child not in found:
                found[child] = depth + 1
                frontier.append((child, depth + 1))
    return found


def group_members(pgid: int) -> set[int]:
    """Processes of a process group (what ``killpg`` reaches)."""
    members = set()
    for entry in os.listdir(PROC):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and len(fields) > 2 and int(fields[2]) == pgid:
                members.add(int(entry))
    return members


def memory_bytes(pid: int) -> int:
    """Proportional set size of one process; resident size where ``smaps_rollup`` is missing."""
    try:
        with open(f"{PROC}/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"{PROC}/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def signal_all(pids: set[int] | list[int], sig: int) -> None:
    """Send ``sig`` to each process that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """``killpg`` that ignores a group already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
