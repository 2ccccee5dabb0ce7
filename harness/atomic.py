"""Writes that either happen whole or not at all.

A killed process or a full disk must never leave a half-written checkpoint, cache entry or
leaderboard behind: each writer fills a temporary file in the same folder, flushes it to disk
and renames it over the target, which POSIX makes atomic.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def disk_full_as_error(target: Path) -> Iterator[None]:
    """Turn a full disk (ENOSPC) while writing ``target`` into a one-line HarnessError."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise HarnessError(
                f"disk full while writing {target}; free some space and run the command again "
                "(the previous version of the file is intact)"
            ) from exc
        raise


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On any exception the temporary file is removed and ``target`` keeps its old content. A
    full disk becomes a :class:`HarnessError` naming the file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        with disk_full_as_error(target):
            yield tmp
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_with(target: Path, writer: Callable[[IO[bytes]], Any]) -> None:
    """Atomically write ``target`` by calling ``writer`` on an open binary file."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        writer(handle)


def write_bytes(target: Path, data: bytes) -> None:
    """Atomically replace ``target`` with ``data``."""
    write_with(target, lambda handle: handle.write(data))


def write_text(target: Path, text: str) -> None:
    """Atomically replace ``target`` with ``text`` (UTF-8)."""
    write_bytes(target, text.encode("utf-8"))
