"""Writes that either happen whole or not at all.

A killed process or a full disk must never leave a half-written checkpoint, cache entry or
leaderboard behind: each writer fills a temporary file in the same folder, flushes it to disk
and renames it over the target, which POSIX makes atomic.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from harness.errors import DiskFullError, HarnessError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


NEARLY_FULL_BYTES = 1 << 20  # less free space than this, and a failed write is the disk's
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (to ask its filesystem for space)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def is_disk_full(exc: BaseException, folder: Path | None = None) -> bool:
    """Whether ``exc`` means the disk (or quota) is full.

    ENOSPC and EDQUOT say so themselves. Some writers do not: numpy's ``tofile`` raises
    ``OSError("N requested and M written")`` without an errno, and torch's zip writer a
    ``RuntimeError`` ("enforce fail ... unexpected pos"). With ``folder`` given, any failure
    counts as a full disk when the filesystem holding ``folder`` has under 1 MiB left; only
    pass it where nothing but the writer ran (team code's own errors must stay its own).
    """
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return True
    if folder is None:
        return False
    try:
        return shutil.disk_usage(_existing(folder)).free < NEARLY_FULL_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def disk_full_as_error(
    target: Path, *, writer_only: bool = False, hint: str = ""
) -> Iterator[None]:
    """Turn a full disk while writing ``target`` into a one-line :class:`DiskFullError`.

    Args:
        target: the file or folder being written, named in the message.
        writer_only: only the harness's own writing runs inside, so a failure of any kind on a
            filesystem with no room left is the disk's (see :func:`is_disk_full`).
        hint: what else the user can do, added to the message (default: nothing).
    """
    try:
        yield
    except HarnessError:
        raise
    except Exception as exc:
        if is_disk_full(exc, Path(target).parent if writer_only else None):
            raise DiskFullError(
                f"disk full while writing {target}; free some space{hint} and run the command "
                "again (everything saved before is intact)",
                target=Path(target),
            ) from exc
        raise


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On any exception the temporary file is removed and ``target`` keeps its old content. A
    full disk becomes a :class:`DiskFullError` naming the file, whatever the writer raised.
    """
    target = Path(target)
    tmp: Path | None = None
    try:
        with disk_full_as_error(target, writer_only=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
            yield tmp
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
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
