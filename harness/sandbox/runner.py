"""Running team code in a child process with a time limit and a memory limit.

The parent never imports a team's ``model.py``. Each job (validate, train, sample) runs as
``python -m harness.worker JOB REQUEST.json`` in its own process group, so that a crash, a hang,
a memory blow-up or a stray ``sys.exit`` in team code ends that child only: the parent kills
the whole group (DataLoader workers included) and reports one line naming the team and fault.

Isolation from the held-out split is defence in depth, not a security boundary: the child gets
no path to ``test`` (only the train cache), its environment loses ``HARNESS_DATA``, and an
audit hook in the child refuses to open or list anything under the paths in
``forbidden_paths`` (the test folder and the held-out caches). Code that calls C libraries
directly could still read files; run untrusted submissions in a container as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, SpecError, TeamCodeError

SCRUBBED_ENV = ("HARNESS_DATA",)
POLL_SECONDS = 0.2
GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """Limits on one child: wall-clock seconds and resident memory in GiB (None: no limit)."""

    timeout_s: float | None = None
    memory_gib: float | None = None


def _group_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in a process group, read from /proc (Linux only)."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def _kill_group(proc: subprocess.Popen[bytes], first: int, grace: float) -> None:
    """Send ``first`` to the child's group, then SIGKILL after ``grace`` seconds."""
    for sig, wait in ((first, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _stderr_fd() -> int:
    """Our stderr's file descriptor (2 when stderr is replaced by an object without one)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


def forbidden_paths(data_root: Path) -> list[str]:
    """Paths team code must never open: the held-out split, its public/private assignment and
    caches derived from them."""
    from harness.data.cache import heldout_cache_root
    from harness.data.split import split_path

    return [str(Path(data_root) / "test"), str(split_path(data_root)), str(heldout_cache_root())]


def child_env() -> dict[str, str]:
    """The parent's environment minus variables that point at the data."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_child(
    job: str,
    request: dict[str, Any],
    *,
    label: str,
    limits: Limits = Limits(),
    log_path: Path | None = None,
) -> dict[str, Any]:
    """Run ``job`` in a child and return the payload it reported.

    The child's stdout goes to our stderr, so that ``--json`` output on stdout stays clean;
    its progress bars reach the terminal as they are. Ctrl-C asks the child to stop (it saves
    a checkpoint when training), waits for it, then re-raises ``KeyboardInterrupt``; an
    interrupt that the child's own code raised is a :class:`TeamCodeError`, so that one team
    cannot stop a round.

    Args:
        job: ``validate``, ``train`` or ``sample``.
        request: JSON-able arguments for the job; ``result_path`` is added here.
        label: who runs (``team2``), for messages.
        limits: time and memory limits.
        log_path: where the child appends full tracebacks; shown in error messages.

    Raises:
        SpecError: the team's model.py failed to import or breaks the spec.
        TeamCodeError: the child raised, crashed, hung past the time limit, or exceeded memory.
        HarnessError: any other problem the child reported.
    """
    with tempfile.TemporaryDirectory(prefix="harness-child-") as tmp:
        request = dict(request, result_path=str(Path(tmp) / "result.json"))
        if log_path is not None:
            request["log_path"] = str(log_path)
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request))
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.worker", job, str(request_path)],
            stdin=subprocess.DEVNULL,
            stdout=_stderr_fd(),
            env=child_env(),
            start_new_session=True,
        )
        fault = _supervise(proc, label, limits)
        result_file = Path(request["result_path"])
        result = json.loads(result_file.read_text()) if result_file.is_file() else None
    where = f" (traceback in {log_path})" if log_path is not None else ""
    if fault is not None:
        raise TeamCodeError(fault)
    if result is None:
        code = proc.returncode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        hint = " (out of memory?)" if code == -signal.SIGKILL else ""
        raise TeamCodeError(f"{label}: {job} child process {how}{hint} before reporting a result")
    status = result.get("status")
    if status == "ok":
        return dict(result.get("payload", {}))
    if status == "interrupted":
        # The parent's own Ctrl-C raised in _supervise before the result was read: a child
        # that stopped "as asked" here was asked by no one but its own code.
        raise TeamCodeError(
            f"{label}: the {job} child stopped on an interrupt the harness did not send "
            f"(team code raised KeyboardInterrupt or signalled itself){where}"
        )
    message = f"{label}: {result.get('error', 'unknown error')}"
    kind = result.get("kind")
    if kind == "SpecError":
        raise SpecError(message)
    if kind == "TeamCodeError" or result.get("team_code"):
        raise TeamCodeError(message + where)
    raise HarnessError(message)


def _supervise(proc: subprocess.Popen[bytes], label: str, limits: Limits) -> str | None:
    """Wait for the child while enforcing limits; return a fault message or None."""
    start = time.monotonic()
    limit_bytes = None if limits.memory_gib is None else limits.memory_gib * 2**30
    try:
        while proc.poll() is None:
            time.sleep(POLL_SECONDS)
            elapsed = time.monotonic() - start
            if limits.timeout_s is not None and elapsed > limits.timeout_s:
                _kill_group(proc, signal.SIGTERM, 5.0)
                return f"{label}: timed out after {limits.timeout_s:.0f} s and was stopped"
            if limit_bytes is not None and sys.platform.startswith("linux"):
                rss = _group_rss_bytes(proc.pid)
                if rss > limit_bytes:
                    _kill_group(proc, signal.SIGKILL, 0.0)
                    return (
                        f"{label}: used {rss / 2**30:.1f} GiB of memory, over the "
                        f"{limits.memory_gib:g} GiB limit, and was stopped"
                    )
    except KeyboardInterrupt:
        _kill_group(proc, signal.SIGINT, GRACE_SECONDS)
        raise
    finally:
        if proc.poll() is None:
            _kill_group(proc, signal.SIGKILL, 0.0)
        else:
            # Stray grandchildren (DataLoader workers) of a child that exited.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    return None
