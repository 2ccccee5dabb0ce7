"""A job's stdout and stderr, relayed to ours through a pipe (or a pseudo-terminal), capped.

Why relay rather than hand the child our stderr: a team that prints 100 MB would fill the
terminal, the CI log or the disk under a redirected log; and a child holding the user's
terminal could push keystrokes into the shell behind it. The relay copies what the child
writes to our stderr until the cap, then drops the rest and says so in one line. When our
stderr is a terminal the child writes to a pseudo-terminal of the same size, so progress bars
behave as they did when the child held the terminal itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import sys
import termios
import threading

CHUNK = 1 << 16


def stderr_fd() -> int:
    """Our stderr's file descriptor (2 when stderr is replaced by an object without one)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


class OutputRelay:
    """Copies a child's output to our stderr up to ``cap_bytes`` (None: no cap).

    Use: create, pass :attr:`child_fd` as the child's stdout and stderr, call :meth:`started`
    once the child exists, and :meth:`finish` after it has exited.
    """

    def __init__(self, cap_bytes: int | None, label: str) -> None:
        self.cap_bytes = cap_bytes
        self.label = label
        self.written = 0
        self.dropped = 0
        self._target = stderr_fd()
        if os.isatty(self._target):
            self._read_fd, self.child_fd = pty.openpty()
            with contextlib.suppress(OSError):
                size = fcntl.ioctl(self._target, termios.TIOCGWINSZ, b"\0" * 8)
                fcntl.ioctl(self.child_fd, termios.TIOCSWINSZ, size)
        else:
            self._read_fd, self.child_fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="harness-output", daemon=True)

    def started(self) -> None:
        """Close our copy of the child's end and start copying."""
        os.close(self.child_fd)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(self._target, data) :]

    def _pump(self) -> None:
        try:
            self._copy()
        finally:
            os.close(self._read_fd)

    def _copy(self) -> None:
        while True:
            try:
                data = os.read(self._read_fd, CHUNK)
            except OSError:  # EIO: the pseudo-terminal's last writer is gone
                break
            if not data:
                break
            room = len(data) if self.cap_bytes is None else self.cap_bytes - self.written
            if room > 0:
                self._write(data[:room])
                self.written += min(room, len(data))
            if room < len(data):
                if not self.dropped:
                    self._write(
                        f"\n[harness] {self.label}: output cut after "
                        f"{self.cap_bytes / 2**20:g} MiB; the rest is dropped\n".encode()
                    )
                self.dropped += len(data) - max(room, 0)

    def finish(self, timeout_s: float = 5.0) -> None:
        """Wait for the copy to drain (bounded: a stray process may hold the pipe open, and
        then the thread keeps copying until it lets go)."""
        if self._thread.ident is not None:
            self._thread.join(timeout_s)

    def abandon(self) -> None:
        """Close both ends when no child was started."""
        for fd in (self.child_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
