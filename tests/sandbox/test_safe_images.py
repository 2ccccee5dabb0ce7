"""The parent's memory stays bounded while it reads a submission (issue 21, item 4).

A samples.npz of compressed zeros that declares 200,000 images, one whose header declares a
114 GiB array, one whose data inflates past its header, and a 144-megapixel PNG: each must be
one clear error line, found from the headers before anything is inflated or decoded. The
memory figures are in bench/README.md (``bench/submission_memory.py``).
"""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.errors import HarnessError, SampleError
from harness.sandbox.safe_images import read_npz, read_picture
from harness.scoring.sample import check_samples
from harness.scoring.score import Scorer, ScoreSettings

N = 4
SIZE = 16
SETTINGS = ScoreSettings(
    n_per_class=N, seed=0, bootstrap=0, dims=64, device="cpu", samples_image_size=SIZE
)


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The bytes ``np.save`` writes before the data of an array of ``shape`` and ``dtype``."""
    header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    out = bytearray()
    np.lib.format.write_array_header_1_0(_Sink(out), header)
    return bytes(out)


class _Sink:
    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer

    def write(self, data: bytes) -> None:
        self.buffer += data


def _member(
    archive: zipfile.ZipFile,
    name: str,
    shape: tuple[int, ...],
    dtype: str,
    data: int | bytes,
    chunk: int = 1 << 22,
) -> None:
    """One ``.npy`` member declaring ``shape``; ``data`` is its bytes, or a count of zero
    bytes streamed so that the test never holds them in memory."""
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        member.write(npy_header(shape, dtype))
        if isinstance(data, bytes):
            member.write(data)
            return
        zeros, left = bytes(chunk), data
        while left:
            member.write(zeros[: min(chunk, left)])
            left -= min(chunk, left)


def write_npz(
    path: Path,
    *,
    images: tuple[tuple[int, ...], int],
    labels: np.ndarray | tuple[tuple[int, ...], int],
) -> Path:
    """An npz whose members declare the given shapes and hold the given (zero) bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _member(archive, "images", images[0], "u1", images[1])
        if isinstance(labels, np.ndarray):
            _member(archive, "labels", labels.shape, "<i8", labels.astype("<i8").tobytes())
        else:
            _member(archive, "labels", labels[0], "<i8", labels[1])
    return path


def refused(path: Path, match: str) -> str:
    started = time.monotonic()
    with pytest.raises(SampleError, match=match) as info:
        check_samples(path, n_per_class=N, size=SIZE, team="bomb")
    assert time.monotonic() - started < 5.0, "refused, but only after inflating"
    assert "\n" not in str(info.value)
    return str(info.value)


def test_an_npz_of_zeros_declaring_200000_images_is_refused_from_its_header(
    tmp_path: Path,
) -> None:
    count = 200_000
    path = write_npz(
        tmp_path / "samples.npz",
        images=((count, SIZE, SIZE, 3), count * SIZE * SIZE * 3),
        labels=np.zeros(count, np.int64),
    )
    assert path.stat().st_size < 2**20  # a small file ...
    refused(path, r"^bomb: samples\.npz declares 200000 samples, expected 4 per class \(8 in all\)")


def test_an_npz_declaring_a_114_gib_array_is_one_line(tmp_path: Path) -> None:
    count = 114 * 2**30 // (SIZE * SIZE * 3)  # images of the right size, 114 GiB of them
    path = write_npz(
        tmp_path / "samples.npz", images=((count, SIZE, SIZE, 3), 0), labels=((count,), 0)
    )
    refused(path, rf"^bomb: samples\.npz declares {count} samples, expected 4 per class")
    path = write_npz(
        tmp_path / "big.npz",
        images=((2 * N, 65536, 65536, 3), 0),
        labels=np.zeros(2 * N, np.int64),
    )
    refused(path, r"samples have shape \(8, 65536, 65536, 3\), expected \[N, 16, 16, 3\]")


def test_data_past_the_declared_array_is_refused_not_inflated(tmp_path: Path) -> None:
    nbytes = 2 * N * SIZE * SIZE * 3
    path = write_npz(
        tmp_path / "samples.npz",
        images=((2 * N, SIZE, SIZE, 3), nbytes + 64 * 2**20),
        labels=np.repeat(np.arange(2, dtype=np.int64), N),
    )
    refused(path, r"claims to inflate to \d+ MiB|more data than its header declares")


def test_a_zip_that_understates_its_member_size_is_still_read_with_a_cap(tmp_path: Path) -> None:
    nbytes = 2 * N * SIZE * SIZE * 3
    path = write_npz(
        tmp_path / "samples.npz",
        images=((2 * N, SIZE, SIZE, 3), nbytes + 8 * 2**20),
        labels=np.repeat(np.arange(2, dtype=np.int64), N),
    )
    # Forge the directory's uncompressed sizes to what the header promises: only the capped
    # read of the stream can tell.
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("images.npy")
    true_size = info.file_size
    assert true_size > 2**23
    with pytest.raises((HarnessError, ValueError), match=r"more data|claims|CRC|Bad"):
        # Either the lying size is caught, or the cap stops the read at the declared size.
        forged = raw.replace(true_size.to_bytes(8, "little"), (nbytes + 128).to_bytes(8, "little"))
        (tmp_path / "forged.npz").write_bytes(bytes(forged))
        read_npz(
            tmp_path / "forged.npz",
            root=tmp_path,
            keys=("images",),
            check=lambda h: h["images"].nbytes,
            max_file_bytes=2**24,
        )


def test_an_honest_npz_still_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2 * N, SIZE, SIZE, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(2, dtype=np.int64), N)
    np.savez_compressed(tmp_path / "samples.npz", images=images, labels=labels)
    got, got_labels = check_samples(tmp_path / "samples.npz", n_per_class=N, size=SIZE, team="ok")
    assert np.array_equal(got, images) and np.array_equal(got_labels, labels)


def test_a_144_megapixel_png_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", (12_000, 12_000)).save(path)  # 144 megapixels, a small file
    started = time.monotonic()
    with pytest.raises(ValueError, match="is 12000 x 12000 pixels"):
        read_picture(path, root=tmp_path, size=SIZE)
    assert time.monotonic() - started < 5.0


def test_a_samples_team_with_a_bomb_gets_one_line_from_score(
    tiny_data: Path, tmp_path: Path
) -> None:
    team = tmp_path / "submissions" / "bomber"
    team.mkdir(parents=True)
    count = 200_000
    write_npz(
        team / "samples.npz",
        images=((count, SIZE, SIZE, 3), count * SIZE * SIZE * 3),
        labels=np.zeros(count, np.int64),
    )
    data = tmp_path / "facemask"
    shutil.copytree(tiny_data, data)
    scorer = Scorer(data_root=data, runs_root=tmp_path / "runs", settings=SETTINGS, say=print)
    started = time.monotonic()
    with pytest.raises(SampleError, match=r"^bomber: samples\.npz declares 200000 samples"):
        scorer.score_team(team)
    assert time.monotonic() - started < 10.0
