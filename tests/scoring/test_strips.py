"""Sample strips kept beside the board: exact, small, content-addressed, safe to write at once."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.scoring.strips import (
    LOSSLESS_MAX_BYTES,
    cut_strip,
    encode_strip,
    keep_strips,
    store,
    strip_names,
    strip_pixels,
    strips_dir,
)
from tests.board.site_fixture import faces as site_faces


def faces(seed: int, n: int = 10, size: int = 16) -> np.ndarray:
    """Smooth made-up pictures (a gradient and a blob), like faces in how they compress."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 255, 3)
        blob = np.exp(-((x - rng.uniform()) ** 2 + (y - rng.uniform()) ** 2) * 8)
        out.append(np.stack([a * x, b * y, c * blob], axis=-1).astype(np.uint8))
    return np.stack(out)


def decoded(data: bytes) -> list[np.ndarray]:
    return cut_strip(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


def test_a_small_strip_gives_back_the_very_pixels_it_was_made_of() -> None:
    per_class = [faces(0), faces(1)]
    pixels = strip_pixels(per_class, 8)
    assert pixels.shape == (2 * 16, 8 * 16, 3)
    cut = cut_strip(pixels)
    assert [a.shape for a in cut] == [(8, 16, 16, 3)] * 2
    data = encode_strip(pixels)
    assert len(data) <= LOSSLESS_MAX_BYTES
    for label in range(2):
        assert np.array_equal(cut[label], per_class[label][:8])  # the layout is exact
        assert np.array_equal(decoded(data)[label], per_class[label][:8])  # and lossless


def test_a_large_strip_is_lossy_but_each_picture_is_its_sample() -> None:
    images, labels = site_faces(3, 8)  # 64 px noisy faces: lossless would be too large
    per_class = [images[labels == c] for c in range(2)]
    data = encode_strip(strip_pixels(per_class))
    assert len(data) < 64 * 2**10
    back = decoded(data)[1].astype(int)
    error = np.abs(back - per_class[1]).mean(axis=(1, 2, 3))
    assert error.max() < 16  # WebP at quality 90 smooths the added noise, little else
    shifted = np.abs(back[1:] - per_class[1][:7]).mean(axis=(1, 2, 3))
    assert (shifted > 2 * error[1:]).all()  # and nearer to it than to its neighbour
    with pytest.raises(ValueError, match="not 2 lines of square images"):
        cut_strip(np.zeros((33, 128, 3), np.uint8))


def test_a_strip_is_named_by_its_content_and_written_once(tmp_path: Path) -> None:
    folder = strips_dir(tmp_path / "leaderboard" / "results.csv")
    assert folder == tmp_path / "leaderboard" / "strips"
    data = encode_strip(strip_pixels([faces(0), faces(1)]))
    name = store(folder, data, ".webp")
    assert name == hashlib.sha256(data).hexdigest() + ".webp"
    before = (folder / name).stat().st_mtime_ns
    assert store(folder, data, ".webp") == name and (folder / name).stat().st_mtime_ns == before
    (folder / name).write_bytes(b"edited by hand")  # a damaged copy is put right
    assert store(folder, data, ".webp") == name and (folder / name).read_bytes() == data


def test_scorers_writing_at_once_leave_whole_files_only(tmp_path: Path) -> None:
    blobs = [encode_strip(strip_pixels([faces(i), faces(i + 50)])) for i in range(4)]
    names: list[str] = []

    def write(i: int) -> None:
        for _ in range(10):
            names.append(store(tmp_path, blobs[i % 4], ".webp"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(set(names)) and len(files) == 4  # no temporary file left behind
    for blob in blobs:
        assert (tmp_path / (hashlib.sha256(blob).hexdigest() + ".webp")).read_bytes() == blob


def test_a_memorised_row_keeps_its_evidence_and_a_fresh_one_does_not(tmp_path: Path) -> None:
    grid = tmp_path / "run" / "samples-nearest-train.png"
    grid.parent.mkdir()
    Image.fromarray(faces(3, 1, 32)[0]).save(grid)
    said: list[str] = []
    per_class = [faces(0), faces(1)]
    memorised = {"team": "t", "memorised": np.bool_(True), "memorisation_grid": str(grid)}
    kept = keep_strips(memorised, per_class, tmp_path / "strips", said.append)
    assert (tmp_path / "strips" / kept["nearest_strip"]).read_bytes() == grid.read_bytes()
    assert kept["sample_strip"].endswith(".webp") and said == []
    fresh = keep_strips({**memorised, "memorised": False}, per_class, tmp_path / "s2", said.append)
    assert fresh["nearest_strip"] == "" and fresh["sample_strip"] == kept["sample_strip"]
    # Fewer than 8 images per class: a shorter strip, never a failed row.
    short = keep_strips({"team": "t"}, [faces(0, 3), faces(1, 5)], tmp_path / "s3", said.append)
    pixels = np.asarray(Image.open(tmp_path / "s3" / short["sample_strip"]))
    assert pixels.shape == (32, 3 * 16, 3)


def test_a_strip_that_cannot_be_written_never_fails_the_row(tmp_path: Path) -> None:
    (tmp_path / "strips").write_text("a file where the folder should be")
    said: list[str] = []
    kept = keep_strips({"team": "t"}, [faces(0), faces(1)], tmp_path / "strips", said.append)
    assert kept == {"sample_strip": "", "nearest_strip": ""}
    assert len(said) == 1 and said[0].startswith("t: no sample strip kept in")


def test_only_names_this_module_writes_are_read_back() -> None:
    good = "a" * 64 + ".webp"
    assert strip_names({"sample_strip": good, "nearest_strip": "b" * 64 + ".png"}) == (
        good,
        "b" * 64 + ".png",
    )
    for bad in (
        "../results.csv",
        "/etc/passwd",
        good + "/x",
        float("nan"),
        None,
        "A" * 64 + ".png",
    ):
        assert strip_names({"sample_strip": bad, "nearest_strip": bad}) == ("", "")
