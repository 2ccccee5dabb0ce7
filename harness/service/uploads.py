"""An uploaded archive, unpacked safely into a new folder of its own, and checked before queueing.

An archive is hostile input. Nothing in it is trusted to say where it goes: each member must be
a regular file or a folder, with a relative name that has no ``..`` and no absolute part; links,
devices and FIFOs are refused, and so are archives that unpack past a size or file-count cap
(a "tar bomb"). Files are written by this module itself, with ``O_EXCL | O_NOFOLLOW`` into a
folder it has just created, never by :meth:`tarfile.TarFile.extractall`.

After unpacking, the folder gets the checks ``harness score`` makes on a team folder before
anything runs (:func:`harness.scoring.submission.detect`, the samples contract of
:func:`harness.scoring.sample.check_samples`), so that a team learns of a wrong layout in
seconds rather than after a place in the queue.
"""

from __future__ import annotations

import ast
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.errors import HarnessError
from harness.scoring import submission as sub_mod

MiB = 2**20


class UploadRefused(HarnessError):
    """An upload the service will not queue; the message is the one line the team sees, and
    ``status`` the HTTP status it is sent with (422: the upload itself; 413: too large;
    403: after the deadline; 429: over the daily limit)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caps:
    """Limits on what an upload may be (defaults suit 1,000 samples per class at 64 px).

    Attributes:
        archive_bytes: the archive as sent (default 256 MiB).
        unpacked_bytes: the sum of its files (default 512 MiB).
        files: how many members (default 5,000: 2,000 PNGs and code beside them).
    """

    archive_bytes: int = 256 * MiB
    unpacked_bytes: int = 512 * MiB
    files: int = 5000


def _member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    parts = [p for p in path.parts if p not in ("", ".")]
    if path.is_absolute() or name.startswith("/") or ".." in parts or not parts:
        raise UploadRefused(f"the archive holds {name!r}: only relative paths without '..' allowed")
    if any("\\" in p or "\x00" in p for p in parts):
        raise UploadRefused(f"the archive holds {name!r}: a name with '\\' or NUL is not allowed")
    return PurePosixPath(*parts)


def unpack(archive: Path, dest: Path, caps: Caps = Caps()) -> list[str]:
    """Unpack the tar archive at ``archive`` (plain or gzip) into ``dest``, which must not exist.

    Returns:
        The relative paths of the files written.

    Raises:
        UploadRefused: not a tar archive, a member that is a link, device or FIFO, a path that
            leaves the folder, or more files or bytes than ``caps`` allow.
    """
    dest = Path(dest)
    dest.mkdir(mode=0o700)  # fails if it exists: an archive never lands in an old folder
    written: list[str] = []
    total = 0
    try:
        handle = tarfile.open(archive, mode="r:*")  # noqa: SIM115  (closed below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UploadRefused(f"the upload is not a tar archive ({exc})") from None
    with handle:
        try:
            for count, member in enumerate(handle, start=1):
                if count > caps.files:
                    raise UploadRefused(
                        f"the archive holds more than {caps.files} files; hand in fewer"
                    )
                rel = _member_path(member.name)
                if member.isdir():
                    (dest / rel).mkdir(parents=True, exist_ok=True, mode=0o700)
                    continue
                if not member.isfile():
                    what = "link" if member.issym() or member.islnk() else "special file"
                    raise UploadRefused(
                        f"the archive holds {member.name!r}, a {what}; only files and folders"
                    )
                total += member.size
                if total > caps.unpacked_bytes:
                    raise UploadRefused(
                        f"the archive unpacks to more than {caps.unpacked_bytes // MiB} MiB; "
                        "hand in less",
                        413,
                    )
                _write_member(handle, member, dest, rel)
                written.append(str(rel))
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, UploadRefused):
                raise
            raise UploadRefused(f"the archive is damaged ({exc})") from None
    return written


def _write_member(
    handle: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, rel: PurePosixPath
) -> None:
    parent = dest.joinpath(*rel.parts[:-1])
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Every folder on the way was made here, so none is a link; O_NOFOLLOW | O_EXCL refuses a
    # second member of the same name rather than writing through or over it.
    target = parent / rel.parts[-1]
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise UploadRefused(f"the archive holds {str(rel)!r} twice") from None
    source = handle.extractfile(member)
    assert source is not None  # a regular file always has a stream
    with os.fdopen(fd, "wb") as out:
        left = member.size
        while left > 0:
            chunk = source.read(min(left, MiB))
            if not chunk:
                raise UploadRefused(f"the archive is cut short inside {str(rel)!r}")
            out.write(chunk)
            left -= len(chunk)


def freeze(folder: Path) -> None:
    """Make an unpacked submission read-only: what was accepted is what is scored."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(root, name), stat.S_IRUSR)
        for name in dirs:
            os.chmod(os.path.join(root, name), stat.S_IRUSR | stat.S_IXUSR)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)


def check_folder(folder: Path, *, n_per_class: int, image_size: int) -> str:
    """The kind of submission ``folder`` holds, after the checks ``harness score`` makes first.

    Returns:
        ``code``, ``checkpoint`` or ``samples``.

    Raises:
        UploadRefused: a wrong layout or kind, model.py that is not Python, or samples that
            break the contract (count per class, size, dtype); paths in messages are relative.
    """
    from harness.scoring.sample import check_samples

    try:
        found = sub_mod.detect(folder)
        if (folder / sub_mod.MODEL_FILE).is_file():
            _check_python(folder / sub_mod.MODEL_FILE)
        if found.kind == sub_mod.SAMPLES:
            npz = folder / sub_mod.SAMPLES_FILE
            if npz.is_file():
                check_samples(npz, n_per_class=n_per_class, size=image_size, team=found.team)
            else:
                _check_png_counts(folder / sub_mod.SAMPLES_FOLDER, found.team, n_per_class)
    except UploadRefused:
        raise
    except HarnessError as exc:
        raise UploadRefused(
            str(exc).replace(f"{folder}/", "").replace(str(folder), "the upload")
        ) from None
    return found.kind


def _check_python(path: Path) -> None:
    try:
        ast.parse(path.read_bytes(), filename=path.name)
    except (SyntaxError, ValueError) as exc:
        raise UploadRefused(f"model.py is not valid Python: {exc}") from None


def _check_png_counts(folder: Path, team: str, n_per_class: int) -> None:
    from harness.classes import CLASS_NAMES

    for name in CLASS_NAMES:
        sub = folder / name
        count = (
            sum(1 for p in sub.iterdir() if p.suffix.lower() in sub_mod.PNG_SUFFIXES)
            if sub.is_dir()
            else 0
        )
        if count != n_per_class:
            raise UploadRefused(
                f"{team}: samples/{name} holds {count} images, expected {n_per_class} per class"
            )


def pack(folder: Path) -> bytes:
    """A team folder as the gzip tar that ``harness submit`` uploads: what the harness scores
    (model.py and the files beside it, checkpoint.pt, samples.npz or samples/), links and
    hidden files left out, names relative to the folder."""
    folder = Path(folder)
    sub_mod.detect(folder)  # the same layout check the server makes, before any upload
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            if path.is_file():
                tar.add(path, arcname=rel.as_posix(), recursive=False)
    return buffer.getvalue()
