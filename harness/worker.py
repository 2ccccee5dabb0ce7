"""Entry point of the child process that runs team code: ``python -m harness.worker JOB REQ``.

The child reports through a JSON result file rather than its exit code or output, so that the
parent gets one clean line for any failure while the full traceback goes to a log file. Team
code may print, spawn workers or call ``sys.exit``; none of that can forge a success, because
only :func:`main` writes ``status: ok`` after the job returned.
"""

from __future__ import annotations

import _thread
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


def install_held_out_guard(forbidden: list[str]) -> None:
    """Refuse, through an audit hook, any open or listing of a path under ``forbidden``.

    Audit hooks cannot be removed once added, so team code imported later cannot undo this.
    """
    roots = [os.path.realpath(p) for p in forbidden]
    if not roots:
        return

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in FORBIDDEN_EVENTS or not args:
            return
        target = args[0]
        if isinstance(target, int) or target is None:
            return
        try:
            path = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError):
            return
        for root in roots:
            if path == root or path.startswith(root + os.sep):
                raise PermissionError(
                    f"the held-out test data is not available to team code ({path})"
                )

    sys.addaudithook(hook)


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
    if not log_path:
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as handle:
        handle.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def main(argv: list[str]) -> int:
    """Run one job and write its result file; returns the process exit code."""
    job, request_path = argv
    request = json.loads(Path(request_path).read_text())
    result_path = request["result_path"]
    install_held_out_guard(request.get("forbidden_paths", []))
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
        _log_traceback(request.get("log_path"), exc)
        _write_result(
            result_path, {"status": "error", "error": str(exc), "kind": type(exc).__name__}
        )
        return 1
    except BaseException as exc:  # team code may raise anything: SystemExit, KeyboardInterrupt
        from harness.spec import describe_exception

        _log_traceback(request.get("log_path"), exc)
        team_dir = request.get("team_dir", ".")
        error = describe_exception(exc, Path(team_dir))
        if isinstance(exc, MemoryError):
            error = "ran out of memory (MemoryError)"
        _write_result(result_path, {"status": "error", "error": error, "team_code": True})
        return 1
    _write_result(result_path, {"status": "ok", "payload": payload})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
