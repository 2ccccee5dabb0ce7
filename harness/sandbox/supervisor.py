"""Starting one job's process under the chosen isolation and holding it to its limits.

:func:`start_job` launches ``python -m harness.entry.worker ...`` directly (soft) or inside bwrap
(strict), in a session of its own, with the environment of :mod:`.environment` and the output
relay of :mod:`.output`. :func:`supervise` then polls until it exits, stopping it past the time
limit (SIGTERM, then SIGKILL), past the memory limit or the process limit (SIGKILL).

Under bwrap the process we start is bwrap itself; it starts the sandbox's init, which starts the
worker. A polite signal (Ctrl-C, a timeout's SIGTERM) goes to the processes inside, below
those two, because bwrap does not forward signals; SIGKILL goes to bwrap, whose death takes the
whole PID namespace with it.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.sandbox import processes
from harness.sandbox.isolation import Isolation
from harness.sandbox.limits import Limits

POLL_SECONDS = 0.2
# A per-process ceiling on private writable memory (RLIMIT_DATA) at twice the job's limit:
# an allocation far past the limit fails at once with MemoryError instead of racing the poll.
DATA_RLIMIT_FACTOR = 2.0


@dataclass
class JobProcess:
    """A started job: the process we launched and how it is isolated."""

    popen: subprocess.Popen[bytes]
    isolation: Isolation

    @property
    def pid(self) -> int:
        """The process we started (bwrap under strict isolation)."""
        return self.popen.pid

    def team_processes(self) -> set[int]:
        """The worker and every process it started, bwrap's own processes excluded."""
        tree = processes.descendants(self.pid)
        if self.isolation is Isolation.STRICT:
            return {pid for pid, depth in tree.items() if depth >= 2}
        return {self.pid, *tree, *processes.group_members(self.pid)}

    def ask_to_stop(self, sig: int) -> None:
        """Send a signal the worker handles (SIGINT: checkpoint and stop; SIGTERM: stop)."""
        if self.isolation is Isolation.STRICT:
            processes.signal_all(self.team_processes(), sig)
        else:
            processes.kill_group(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL every process of the job, setsid or not."""
        members = self.team_processes()
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        processes.kill_group(self.pid)
        processes.signal_all(members, signal.SIGKILL)

    def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the launched process to exit; whether it did."""
        try:
            self.popen.wait(timeout=timeout_s)
            return True
        except subprocess.TimeoutExpired:
            return False


def _limit_resources(memory_gib: float | None) -> Callable[[], None]:
    """Runs in the child between fork and exec: no core files, a ceiling on private memory."""
    data_bytes = None if memory_gib is None else int(memory_gib * DATA_RLIMIT_FACTOR * 2**30)

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if data_bytes is not None:
            resource.setrlimit(resource.RLIMIT_DATA, (data_bytes, data_bytes))

    return apply


def start_job(
    argv: Sequence[str],
    *,
    isolation: Isolation,
    env: dict[str, str],
    output_fd: int,
    limits: Limits,
    data_rlimit: bool = True,
) -> JobProcess:
    """Start ``argv`` (already wrapped in bwrap for strict isolation) in a new session.

    Args:
        argv: the command line.
        isolation: how ``argv`` is isolated (decides how signals reach the worker).
        env: the child's whole environment.
        output_fd: where the child's stdout and stderr go (the output relay).
        limits: the job's limits; the memory limit also sets RLIMIT_DATA unless
            ``data_rlimit`` is False (machines with NVIDIA devices: how the CUDA driver's
            address-space reservations meet RLIMIT_DATA is untested without a GPU).
    """
    popen = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=output_fd,
        stderr=output_fd,
        env=env,
        start_new_session=True,
        preexec_fn=_limit_resources(limits.memory_gib if data_rlimit else None),
    )
    return JobProcess(popen, isolation)


def supervise(job: JobProcess, label: str, limits: Limits, grace_s: float) -> str | None:
    """Wait for the job while enforcing ``limits``; return a fault message or None.

    Ctrl-C asks the job to stop (training saves a checkpoint), waits ``grace_s`` seconds,
    then re-raises ``KeyboardInterrupt``. Whatever happens, no process of the job outlives
    this call.
    """
    start = time.monotonic()
    limit_bytes = None if limits.memory_gib is None else limits.memory_gib * 2**30
    try:
        while job.popen.poll() is None:
            time.sleep(POLL_SECONDS)
            if limits.timeout_s is not None and time.monotonic() - start > limits.timeout_s:
                job.ask_to_stop(signal.SIGTERM)
                job.wait(5.0)
                return f"{label}: timed out after {limits.timeout_s:.0f} s and was stopped"
            members = job.team_processes()
            if limits.max_processes is not None and len(members) > limits.max_processes:
                job.kill()
                return (
                    f"{label}: ran {len(members)} processes at once, over the limit of "
                    f"{limits.max_processes}, and was stopped"
                )
            if limit_bytes is not None:
                used = sum(processes.memory_bytes(pid) for pid in members)
                if used > limit_bytes:
                    job.kill()
                    return (
                        f"{label}: used {used / 2**30:.1f} GiB of memory, over the "
                        f"{limits.memory_gib:g} GiB limit, and was stopped"
                    )
    except KeyboardInterrupt:
        job.ask_to_stop(signal.SIGINT)
        job.wait(grace_s)
        raise
    finally:
        job.kill()
        job.wait(10.0)
    return None
