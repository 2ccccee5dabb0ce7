"""``harness serve``: the app under uvicorn, and N local worker processes beside it.

Local workers are ``harness worker`` child processes, not threads: each one holds its own
Inception model and can be killed without taking the server down, and a worker that dies is
started again (its job comes back to the queue when its lease runs out).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

from harness.service.app import ServiceSettings, create_app
from harness.service.intake import sweep_orphans

RESTART_PAUSE_S = 2.0
STOPPED = (-signal.SIGTERM, -signal.SIGINT)


class LocalWorkers:
    """Keep ``count`` worker processes running until :meth:`stop`."""

    def __init__(self, argv: Sequence[str], count: int) -> None:
        self.argv = list(argv)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.count = count
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._keep_alive, daemon=True)

    def start(self) -> None:
        self.procs = [subprocess.Popen(self.argv) for _ in range(self.count)]
        self._watch.start()

    def _keep_alive(self) -> None:
        while not self._stop.wait(RESTART_PAUSE_S):
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                # A worker stopped by a signal to the whole group is stopping with the server.
                if code is not None and code not in STOPPED and not self._stop.is_set():
                    print(
                        f"worker {proc.pid} ended ({proc.returncode}); starting another",
                        file=sys.stderr,
                    )
                    self.procs[i] = subprocess.Popen(self.argv)

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def serve(settings: ServiceSettings, *, host: str, port: int, workers: LocalWorkers | None) -> None:
    """Run the service until interrupted; local workers stop with it."""
    import uvicorn

    removed = sweep_orphans(settings.engine, settings.state)
    if removed:
        print(f"removed {removed} half-written upload(s) a stopped server left", file=sys.stderr)
    if workers is not None and workers.count:
        workers.start()
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        if workers is not None:
            workers.stop()
