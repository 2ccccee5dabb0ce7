"""Reading handed-in arrays and pictures with the parent's memory bounded before decoding.

A ``samples.npz`` is a zip archive: a 2 MB file of compressed zeros can declare 200,000
images, and a header can declare a 114 GiB array; ``np.load`` would allocate and inflate
whatever it is told. A PNG's header can declare 144 megapixels that PIL decodes on ``load``.
Here every member's ``.npy`` header (shape, dtype; numpy's own ``read_magic`` and
``read_array_header_*``, which read a few hundred bytes of the stream) is checked against
what the caller expects before a byte of data is inflated, the inflated stream is read with a
cap (the zip's own ``file_size`` is checked too, but never trusted alone), and a picture's
header size is checked before its pixels are decoded. Files are opened through
:mod:`harness.sandbox.safe_files`, so a link is refused, not followed.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.sandbox.safe_files import MIB, UnsafeFileError, opened, read_bytes

HEADER_MAX_BYTES = 64 * 2**10  # a .npy header is a short dict literal; numpy's own cap is 10 kB
ZIP_SLACK_BYTES = 1 * MIB  # zip headers, central directory, deflate's worst-case growth
PICTURE_MAX_PIXELS = 4096 * 4096  # a picture the harness did not ask a size for (board pages)

__all__ = ["NpyHeader", "npz_headers", "read_npz", "read_picture"]


@dataclass(frozen=True)
class NpyHeader:
    """What one ``.npy`` member declares, read without inflating its data."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool
    file_size: int  # what the zip's directory claims the member inflates to

    @property
    def nbytes(self) -> int:
        count = 1
        for n in self.shape:
            count *= int(n)
        return count * self.dtype.itemsize


def _header(stream: Any, name: str, path: Path) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(stream, HEADER_MAX_BYTES)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(stream, HEADER_MAX_BYTES)
        else:
            raise ValueError(f"format version {version}")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as exc:
        raise ValueError(f"{name} of {path.name} has no readable .npy header ({exc})") from None
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"{name} of {path.name} declares the shape {shape}")
    return tuple(shape), bool(fortran), dtype


def _members(archive: zipfile.ZipFile, keys: tuple[str, ...], path: Path) -> dict[str, Any]:
    infos = {info.filename: info for info in archive.infolist()}
    missing = [k for k in keys if f"{k}.npy" not in infos]
    if missing:
        raise KeyError(f"{path.name} lacks {', '.join(repr(k) for k in missing)}")
    return {k: infos[f"{k}.npy"] for k in keys}


def npz_headers(
    path: Path, *, root: Path, keys: tuple[str, ...], max_file_bytes: int
) -> dict[str, NpyHeader]:
    """The ``.npy`` headers of ``keys`` in an npz, read without inflating any data.

    Raises:
        UnsafeFileError: a link, not a regular file, or larger than ``max_file_bytes``.
        KeyError: a key is missing.
        ValueError: not a zip of ``.npy`` members.
    """
    with opened(path, root=root, max_bytes=max_file_bytes) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                out = {}
                for key, info in _members(archive, keys, Path(path)).items():
                    with archive.open(info) as stream:
                        shape, fortran, dtype = _header(stream, key, Path(path))
                    out[key] = NpyHeader(shape, dtype, fortran, info.file_size)
                return out
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
            raise ValueError(f"{Path(path).name} is not a readable npz ({exc})") from None


def read_npz(
    path: Path,
    *,
    root: Path,
    keys: tuple[str, ...],
    check: Callable[[dict[str, NpyHeader]], int],
    max_file_bytes: int,
) -> dict[str, np.ndarray]:
    """Arrays of an npz, each inflated only after ``check`` has accepted every header.

    ``check`` raises on a header it does not accept and returns the most bytes all members
    may inflate to together; a member that claims or yields more is refused, whatever its
    header said.

    Raises:
        UnsafeFileError: a link, not a regular file, too large on disk or inflated.
        KeyError: a key is missing.
        ValueError: not a zip of ``.npy`` members, or a member is truncated or corrupt.
    """
    path = Path(path)
    with opened(path, root=root, max_bytes=max_file_bytes) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                infos = _members(archive, keys, path)
                headers = {}
                for key, info in infos.items():
                    with archive.open(info) as stream:
                        shape, fortran, dtype = _header(stream, key, path)
                    headers[key] = NpyHeader(shape, dtype, fortran, info.file_size)
                budget = check(headers)
                if sum(h.nbytes for h in headers.values()) > budget:
                    raise UnsafeFileError(
                        f"{path} declares {sum(h.nbytes for h in headers.values()) / MIB:.0f} "
                        f"MiB of arrays, over the {budget / MIB:.0f} MiB expected"
                    )
                return {k: _inflate(archive, infos[k], headers[k], k, path) for k in keys}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
            raise ValueError(f"{path.name} is not a readable npz ({exc})") from None


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: NpyHeader, key: str, path: Path
) -> np.ndarray:
    """One member's data, read to exactly its declared size and no further."""
    if header.dtype.hasobject:
        raise ValueError(f"{key} of {path.name} holds Python objects; only plain arrays")
    if info.file_size > header.nbytes + HEADER_MAX_BYTES:
        raise UnsafeFileError(
            f"{path}: {key} claims to inflate to {info.file_size / MIB:.0f} MiB for an array of "
            f"{header.nbytes / MIB:.1f} MiB"
        )
    with archive.open(info) as stream:
        _header(stream, key, path)
        data = stream.read(header.nbytes)
        if len(data) != header.nbytes:
            raise ValueError(f"{key} of {path.name} is truncated")
        if stream.read(1):  # also runs the zip's CRC check at the end of the member
            raise UnsafeFileError(f"{path}: {key} holds more data than its header declares")
    order = "F" if header.fortran_order else "C"
    flat = np.frombuffer(data, dtype=header.dtype)
    return flat.reshape(header.shape, order=order).copy(order="C")


def read_picture(
    path: Path,
    *,
    root: Path,
    size: int | None,
    max_pixels: int = PICTURE_MAX_PIXELS,
    describe: Callable[[tuple[int, int]], str] | None = None,
) -> tuple[np.ndarray, bytes]:
    """An RGB uint8 ``[H, W, 3]`` picture and its file bytes, its header checked first.

    Args:
        path: a PNG or JPEG inside ``root``.
        root: the team or run folder.
        size: the side it must have (square), checked before decoding; None: any size up to
            ``max_pixels``.
        max_pixels: the most pixels a picture of no set size may declare.
        describe: the message for a wrong size, given the (width, height) found.

    Raises:
        UnsafeFileError: a link, not a regular file, or too large on disk.
        ValueError: not a readable picture, or the wrong size (``describe``'s message).
    """
    from PIL import Image

    pixels = size * size if size is not None else max_pixels
    data = read_bytes(path, root=root, max_bytes=pixels * 4 + MIB)
    try:
        with warnings.catch_warnings():
            # PIL warns past MAX_IMAGE_PIXELS at open; the size is checked here before any
            # pixel is decoded, so its warning would only be noise (its error, past twice
            # that, still stands and is caught below).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # lazy: reads the header only
        with image:
            if image.format not in ("PNG", "JPEG", "WEBP"):
                raise ValueError(f"{Path(path).name} is {image.format}, not PNG or JPEG")
            found = image.size
            wrong = found != (size, size) if size is not None else found[0] * found[1] > pixels
            if wrong:
                raise ValueError(
                    describe(found)
                    if describe
                    else f"{Path(path).name} is {found[0]} x {found[1]} pixels"
                )
            array = np.asarray(image.convert("RGB"))
    except ValueError:
        raise
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{Path(path).name} is not a readable image ({exc})") from None
    return array, data
