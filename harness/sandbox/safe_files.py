"""Reading files from a team folder or a run folder without being led out of it.

A team folder (what a team handed in) and a run folder (what team code wrote during ``train``
or ``sample``) are hostile input for the parent. A symbolic link there, in the file's own name
or in any folder on the way to it, would make the parent read (and, where it rewrites the
file, copy) whatever the link points at: another team's checkpoint, a held-out test image,
the split file beside them. Every file the parent reads from such a folder goes through here:

- each path component below the folder is opened with ``O_NOFOLLOW`` relative to the one
  before (``openat``), so a link anywhere on the way is refused, not followed, and nothing can
  swap a component between the check and the open;
- the file must be a regular file (not a FIFO, device or socket: those would block or stream
  forever) with one name (``st_nlink == 1``: a hard link to a secret would read as a regular
  file) and no more than the bytes its kind may hold;
- every refusal is one :class:`UnsafeFileError` line naming the file and what to do.

The folder itself (``submissions/<team>``, ``runs/<team>/<run_id>``) is the organiser's and
may be reached through links; only what lies inside it is checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError

KIB = 2**10
MIB = 2**20
JSON_MAX_BYTES = 4 * MIB  # config.json, latest.json, a job's result
TEXT_MAX_BYTES = 64 * MIB  # metrics.jsonl, logs
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

__all__ = [
    "FileTooLargeError",
    "UnsafeFileError",
    "entry_kind",
    "open_plain",
    "plain_file_names",
    "read_bytes",
    "read_json",
    "read_text",
    "refuse_links_in",
    "require_plain",
]


class UnsafeFileError(HarnessError):
    """A file in a team or run folder is a link, not a regular file, or too large."""


class FileTooLargeError(UnsafeFileError):
    """A file in a team or run folder holds more than its kind may."""


def _parts(path: Path, root: Path) -> tuple[str, ...]:
    """``path``'s components below ``root`` (lexically: ``..`` is never allowed)."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    parts = Path(rel).parts
    if not parts or rel == "." or parts[0] == ".." or ".." in parts or os.path.isabs(rel):
        raise UnsafeFileError(f"{path} lies outside {root}; the harness reads only inside it")
    return parts


def _open_dir(root: Path, parts: tuple[str, ...], path: Path) -> int:
    """A descriptor of the folder holding ``parts[-1]``, each step opened without following."""
    fd = os.open(os.path.abspath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts[:-1]):
            try:
                step = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                _refuse_step(fd, part, Path(root, *parts[: i + 1]), path, exc)
                raise
            os.close(fd)
            fd = step
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refuse_step(dir_fd: int, name: str, where: Path, path: Path, exc: OSError) -> None:
    """Raise the clear error for a component that could not be opened as a plain folder."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise FileNotFoundError(exc.errno, f"{path} does not exist") from None
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFileError(
            f"{where} is a symbolic link (on the way to {path.name}); the harness follows no "
            "link in a team or run folder: put the folder itself there"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise FileNotFoundError(exc.errno, f"{path} does not exist ({where} is not a folder)")


def _refuse_entry(info: os.stat_result, path: Path, max_bytes: int | None) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFileError(
            f"{path} is a symbolic link; the harness follows no link in a team or run folder: "
            "put the file itself there"
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{path} is not a regular file; put a plain file there")
    if info.st_nlink > 1:
        raise UnsafeFileError(
            f"{path} is a hard link ({info.st_nlink} names for one file); the harness reads only "
            "files with one name in a team or run folder: put a copy there"
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise FileTooLargeError(
            f"{path} is {info.st_size / MIB:.1f} MiB, over the {max_bytes / MIB:.1f} MiB such a "
            "file may hold"
        )


def open_plain(path: Path, *, root: Path, max_bytes: int | None) -> int:
    """A read-only descriptor of ``path`` (inside ``root``), reached without following links.

    Args:
        path: the file, ``root`` or a folder below it.
        root: the team or run folder; trusted itself, nothing below it is.
        max_bytes: the most the file may hold (None: no limit, for files hashed in chunks).

    Raises:
        UnsafeFileError: a component is a link, the file is not regular, has more than one
            name, or is too large.
        FileNotFoundError: it does not exist.
    """
    path = Path(path)
    parts = _parts(path, root)
    dir_fd = _open_dir(root, parts, path)
    try:
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            try:
                info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                raise FileNotFoundError(exc.errno, f"{path} does not exist") from None
            _refuse_entry(info, path, max_bytes)
            raise
    finally:
        os.close(dir_fd)
    try:
        _refuse_entry(os.fstat(fd), path, max_bytes)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def opened(path: Path, *, root: Path, max_bytes: int | None) -> Iterator[IO[bytes]]:
    """:func:`open_plain` as a binary file object, closed on leaving."""
    with os.fdopen(open_plain(path, root=root, max_bytes=max_bytes), "rb") as handle:
        yield handle


def read_bytes(path: Path, *, root: Path, max_bytes: int) -> bytes:
    """The bytes of a plain file inside ``root``; at most ``max_bytes`` (checked, then read
    with that cap: a file that grows after the check is refused too)."""
    with opened(path, root=root, max_bytes=max_bytes) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"{path} grew past {max_bytes / MIB:.1f} MiB while being read")
    return data


def read_text(path: Path, *, root: Path, max_bytes: int = TEXT_MAX_BYTES) -> str:
    """A plain text file inside ``root`` (undecodable bytes replaced)."""
    return read_bytes(path, root=root, max_bytes=max_bytes).decode("utf-8", errors="replace")


def read_json(path: Path, *, root: Path, max_bytes: int = JSON_MAX_BYTES) -> Any:
    """A plain JSON file inside ``root``.

    Raises:
        ValueError: it is not JSON (callers name the file in their own words).
    """
    return json.loads(read_bytes(path, root=root, max_bytes=max_bytes))


def entry_kind(path: Path, *, root: Path) -> str:
    """What ``path`` is, looked at without following links: ``missing``, ``file``, ``dir``,
    ``link`` (the entry itself or a folder on the way), or ``other`` (FIFO, device...)."""
    try:
        parts = _parts(path, root)
    except UnsafeFileError:
        return "other"
    try:
        dir_fd = _open_dir(root, parts, Path(path))
    except UnsafeFileError:
        return "link"
    except OSError:
        return "missing"
    try:
        info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return "missing"
    finally:
        os.close(dir_fd)
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISREG(info.st_mode):
        return "file"
    return "dir" if stat.S_ISDIR(info.st_mode) else "other"


def require_plain(path: Path, *, root: Path, folder: bool = False) -> Path:
    """``path`` itself (not resolved), checked to be a plain file (or, with ``folder``, a
    plain folder) inside ``root`` with no link on the way: what may be bound into a sandbox,
    whose bind would follow a link to wherever it points.

    Raises:
        UnsafeFileError: a link, or the wrong kind of entry.
        FileNotFoundError: it does not exist.
    """
    path = Path(path)
    if folder:
        kind = entry_kind(path, root=root)
        if kind == "missing":
            raise FileNotFoundError(2, f"{path} does not exist")
        if kind == "link":
            raise UnsafeFileError(
                f"{path} is (or lies under) a symbolic link; the harness follows no link in a "
                "team or run folder: put the folder itself there"
            )
        if kind != "dir":
            raise UnsafeFileError(f"{path} is not a folder")
        return path
    os.close(open_plain(path, root=root, max_bytes=None))
    return path


def plain_file_names(folder: Path, *, root: Path, limit: int) -> list[str]:
    """Names in ``folder`` (inside ``root``, reached without links), refusing a folder of more
    than ``limit`` entries: a listing of millions would take the parent's time and memory."""
    parts = _parts(Path(folder) / "x", root)
    dir_fd = _open_dir(root, parts, Path(folder) / "x")
    try:
        names: list[str] = []
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                names.append(entry.name)
                if len(names) > limit:
                    raise UnsafeFileError(
                        f"{folder} holds more than {limit} entries; hand in only the files asked for"
                    )
    finally:
        os.close(dir_fd)
    return sorted(names)


def refuse_links_in(folder: Path, *, label: str, limit: int = 100_000) -> None:
    """Raise if anything in a team folder is a symbolic link, a hard link or a special file.

    Team code runs in a sandbox that binds the team folder, and the parent reads some files
    of it; a link anywhere there (``model.py``, a module it imports, ``README.md``, a folder)
    would point one of them at a file the team does not own. Refusing every link up front
    gives one clear line before any job starts, whatever later reads which file.

    Args:
        folder: the team folder (itself may be a link the organiser made).
        label: who it belongs to, for the message.
        limit: the most entries walked; a folder holding more is refused.
    """
    folder = Path(folder)
    seen = 0
    pending = [""]
    while pending:
        rel = pending.pop()
        kind = entry_kind(folder / rel, root=folder) if rel else "dir"
        if kind == "link":
            raise UnsafeFileError(f"{label}: {rel} is (or lies under) a symbolic link")
        with os.scandir(folder / rel) as entries:
            for entry in entries:
                seen += 1
                if seen > limit:
                    raise UnsafeFileError(
                        f"{label}: {folder} holds more than {limit} files; hand in only what "
                        "the submission needs"
                    )
                name = os.path.join(rel, entry.name) if rel else entry.name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    raise UnsafeFileError(
                        f"{label}: {name} in the team folder is a symbolic link; the harness "
                        "follows no link in a team folder: put the file itself there"
                    )
                if stat.S_ISDIR(info.st_mode):
                    pending.append(name)
                elif not stat.S_ISREG(info.st_mode):
                    raise UnsafeFileError(
                        f"{label}: {name} in the team folder is not a regular file; remove it"
                    )
                elif info.st_nlink > 1:
                    raise UnsafeFileError(
                        f"{label}: {name} in the team folder is a hard link ({info.st_nlink} "
                        "names for one file); put a copy there"
                    )
