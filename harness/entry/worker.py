"""Entry point of the child process that runs team code: ``python -m harness.entry.worker JOB REQ``.

The child reports through a JSON result file rather than its exit code or output, so that the
parent gets one clean line for any failure while the full traceback goes to a log file. Team
code may print, spawn workers or call ``sys.exit``; none of that writes ``status: ok``, which
only :func:`main` does after the job returned. Team code runs in this process, though, and could
write the file itself: the parent checks every payload (:mod:`harness.sandbox.payloads`) and
trusts none of it beyond its shape. Under strict isolation this process runs inside bubblewrap
(:mod:`harness.sandbox.bwrap`); the audit hook installed here is a second layer.
"""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, Interrupted

FORBIDDEN_EVENTS = ("open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile")
PR_SET_CHILD_SUBREAPER = 36


def _held_out(path: str, digests: frozenset[str]) -> bool:
    """Whether ``path`` or a folder above it hashes to one of ``digests``."""
    current = path
    while True:
        if hashlib.sha256(current.encode()).hexdigest() in digests:
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


def install_held_out_guard(digests: list[str]) -> None:
    """Refuse, through an audit hook, any open or listing of a path under a hidden folder.

    The folders arrive as SHA-256 hashes of their paths (see
    :func:`harness.sandbox.runner.held_out_digests`), so the request file does not tell team
    code where the data lives. Audit hooks cannot be removed once added, so team code imported
    later cannot undo this. It is a second layer: it sees Python-level opens only.
    """
    if not digests:
        return
    wanted = frozenset(digests)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in FORBIDDEN_EVENTS or not args:
            return
        target = args[0]
        if isinstance(target, int) or target is None:
            return
        try:
            text = os.fsdecode(target)
            forms = {os.path.abspath(text), os.path.realpath(text)}
        except (TypeError, ValueError):
            return
        for path in forms:
            if _held_out(path, wanted):
                raise PermissionError(
                    f"the held-out test data is not available to team code ({path})"
                )

    sys.addaudithook(hook)


def adopt_orphans() -> None:
    """Make this worker the child subreaper of everything team code starts (Linux).

    A process that calls ``setsid`` and whose parent exits is then re-parented to the worker
    rather than to init, so the harness still finds it among the job's descendants and stops
    it with the job. Under bwrap the PID namespace does this anyway.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def end_descendants() -> None:
    """SIGKILL every process below this worker before it exits (they are its job's)."""
    from harness.sandbox.processes import descendants, signal_all

    signal_all(set(descendants(os.getpid())), signal.SIGKILL)


def watch_parent(interval_s: float = 1.0) -> None:
    """Stop this child when the harness process that started it dies.

    The child runs in its own session (so the parent can kill its whole group), which also
    means a killed parent would leave it running as an orphan. A daemon thread polls the parent
    id and raises ``KeyboardInterrupt`` in the main thread when it changes: training then saves
    a checkpoint and exits; a second check a minute later ends the process outright.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        _thread.interrupt_main()
        time.sleep(60.0)
        os._exit(1)

    threading.Thread(target=watch, name="harness-parent-watch", daemon=True).start()


class _OutputThatOutlivesTheParent:
    """stdout or stderr that drops what it cannot deliver instead of raising.

    The child's output goes through a pipe that the harness reads; when the harness is killed
    the pipe breaks, and a progress bar's next write would raise BrokenPipeError in the middle
    of training, before the parent-death watch could save a checkpoint.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _jobs() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    from harness.scoring import sample, walk
    from harness.training import trainer, validate

    return {
        "validate": validate.run_job,
        "train": trainer.run_job,
        "sample": sample.run_job,
        "walk": walk.run_job,
    }


def _write_result(path: str, result: dict[str, Any]) -> None:
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)


def _stop_requested(signum: int, frame: Any) -> None:
    """The parent's SIGINT or SIGTERM (or the parent-death watchdog): stop, as the harness asked."""
    raise Interrupted(f"signal {signum}")


def _log_traceback(log_path: str | None, exc: BaseException) -> None:
    """Append the traceback to the job's log, after the result is written, never raising.

    The log is a convenience: a log folder the sandbox does not let us write (a relative path
    resolves against the read-only team folder there), or a link team code planted at its
    path, must not cost the one-line reason that the result file carries. The parent makes
    the path absolute inside the folder the job may write; this side follows no link.
    """
    if not log_path or not os.path.isabs(log_path):
        return
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with contextlib.suppress(OSError, ValueError):
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(log_path, flags, 0o644)
        with os.fdopen(fd, "a") as handle:
            handle.write(text)


def main(argv: list[str]) -> int:
    """Run one job and write its result file; returns the process exit code.

    Processes team code started are ended before the worker exits, whatever the outcome.
    """
    try:
        return _run(argv)
    finally:
        end_descendants()


def _run(argv: list[str]) -> int:
    job, request_path = argv
    request = json.loads(Path(request_path).read_text())
    result_path = request["result_path"]
    install_held_out_guard(request.get("forbidden_digests", []))
    sys.stdout = _OutputThatOutlivesTheParent(sys.stdout)  # type: ignore[assignment]
    sys.stderr = _OutputThatOutlivesTheParent(sys.stderr)  # type: ignore[assignment]
    adopt_orphans()
    watch_parent()
    # The parent sends SIGINT to ask for a clean stop; training turns it into a checkpoint.
    # A KeyboardInterrupt that team code raises itself is not that: it is the team's fault.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        payload = _jobs()[job](request)
    except Interrupted:
        _write_result(result_path, {"status": "interrupted"})
        return 130
    except HarnessError as exc:
        _write_result(
            result_path, {"status": "error", "error": str(exc), "kind": type(exc).__name__}
        )
        _log_traceback(request.get("log_path"), exc)
        return 1
    except BaseException as exc:  # team code may raise anything: SystemExit, KeyboardInterrupt
        from harness.spec import describe_exception

        team_dir = request.get("team_dir", ".")
        try:
            error = describe_exception(exc, Path(team_dir))
        except Exception:  # an exception whose str() raises is still the team's fault
            error = f"team code raised {type(exc).__name__}"
        if isinstance(exc, MemoryError):
            error = "ran out of memory (MemoryError)"
        _write_result(result_path, {"status": "error", "error": error, "team_code": True})
        _log_traceback(request.get("log_path"), exc)
        return 1
    _write_result(result_path, {"status": "ok", "payload": payload})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
