"""Pictures that travel with the board: a small sample strip per scored row, beside results.csv.

Run folders hold a submission's samples, but they stay on the machine that scored it and are
never committed; a board copied elsewhere (a clone, a course page) would show no pictures. So
scoring keeps, for each row, the first :data:`PER_CLASS` samples of each class as one WebP (a
line per class, no gaps, so the site can cut the images back out) in ``strips/`` beside
``results.csv``, and the row names it in ``sample_strip``. It is lossless when that takes at
most :data:`LOSSLESS_MAX_BYTES` (small images), else lossy at quality 90: at 64 px the 16 images
of a strip take about 20-30 KB so, where lossless WebP took 88 KB (real photos) to 115 KB (GAN
samples), too much for a board of hundreds of rows kept in git; the strip is for people to look
at, the scores come from the samples themselves. A row flagged as memorised also keeps its
nearest-training-image evidence (the memorisation check's PNG, ``nearest_strip``).

Each file is named by the sha256 of its bytes, so two scorers that write at once either write
different files or the same bytes under the same name, each through a temporary file and a
rename (:mod:`harness.atomic`): no reader ever sees half a file, and no strip is ever replaced
by another. Nothing here can fail a row: a strip that cannot be written is said aloud and the
row keeps a blank name.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic
from harness.classes import NUM_CLASSES

FOLDER = "strips"
PER_CLASS = 8
QUALITY = 90  # WebP quality of a sample strip too large to keep lossless
LOSSLESS_MAX_BYTES = 32 * 2**10
KEY_SAMPLE_STRIP = "sample_strip"
KEY_NEAREST_STRIP = "nearest_strip"
NEAREST_MAX_BYTES = 2 * 2**20  # a memorisation PNG larger than this is not kept
NAME = re.compile(r"[0-9a-f]{64}\.(webp|png)")


def strips_dir(board: Path) -> Path:
    """Where the strips of the board ``board`` (a results CSV) live: ``strips/`` beside it."""
    return Path(board).parent / FOLDER


def strip_pixels(per_class: Sequence[np.ndarray], keep: int = PER_CLASS) -> np.ndarray:
    """The first ``keep`` images of each class laid side by side, one line per class, no gap:
    uint8 ``[classes * S, keep * S, 3]``. Every class must have ``keep`` images."""
    lines = []
    for images in per_class:
        chosen = np.asarray(images[:keep], dtype=np.uint8)
        if len(chosen) < keep:
            raise ValueError(f"a strip needs {keep} images per class, got {len(chosen)}")
        lines.append(np.concatenate(list(chosen), axis=1))
    return np.ascontiguousarray(np.concatenate(lines, axis=0))


def cut_strip(pixels: np.ndarray, classes: int = NUM_CLASSES) -> list[np.ndarray]:
    """The inverse of :func:`strip_pixels`: per class, uint8 ``[k, S, S, 3]``.

    Raises:
        ValueError: the picture is not ``classes`` lines of square images.
    """
    height, width = pixels.shape[:2]
    side, rest = divmod(height, classes)
    if rest or side == 0 or width % side:
        raise ValueError(f"a {width} x {height} picture is not {classes} lines of square images")
    per_line = width // side
    return [
        pixels[c * side : (c + 1) * side].reshape(side, per_line, side, 3).transpose(1, 0, 2, 3)
        for c in range(classes)
    ]


def encode_strip(pixels: np.ndarray) -> bytes:
    """WebP bytes of a strip: lossless when that is small, else at :data:`QUALITY`."""
    from PIL import Image

    image = Image.fromarray(pixels)
    lossless = io.BytesIO()
    image.save(lossless, format="WEBP", lossless=True, quality=100, method=4)
    if lossless.tell() <= LOSSLESS_MAX_BYTES:
        return lossless.getvalue()
    lossy = io.BytesIO()
    image.save(lossy, format="WEBP", quality=QUALITY, method=6)
    return lossy.getvalue()


def store(folder: Path, data: bytes, suffix: str) -> str:
    """Write ``data`` into ``folder`` as ``<sha256><suffix>`` unless it is there; its name.

    The name is the content's, so an existing file of that name already holds these bytes
    (unless someone edited it: then it is rewritten, atomically).
    """
    name = hashlib.sha256(data).hexdigest() + suffix
    path = Path(folder) / name
    try:
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return name
    except OSError:
        pass
    atomic.write_bytes(path, data)
    return name


def keep_strips(
    row: dict[str, Any],
    per_class: Sequence[np.ndarray],
    folder: Path,
    say: Callable[[str], None],
) -> dict[str, str]:
    """Store the row's sample strip (and, for a memorised row, its nearest-training-image
    PNG) in ``folder``; returns the columns naming them (blank where nothing was kept)."""
    out = {KEY_SAMPLE_STRIP: "", KEY_NEAREST_STRIP: ""}
    team = row.get("team", "")
    try:
        keep = min(PER_CLASS, *(len(images) for images in per_class))
        out[KEY_SAMPLE_STRIP] = store(folder, encode_strip(strip_pixels(per_class, keep)), ".webp")
    except (OSError, ValueError) as exc:
        say(f"{team}: no sample strip kept in {folder} ({exc}); the row is scored all the same")
    grid = row.get("memorisation_grid")
    flag = row.get("memorised")
    if isinstance(flag, (bool, np.bool_)) and flag and grid:
        try:
            path = Path(str(grid))
            if path.stat().st_size <= NEAREST_MAX_BYTES:
                out[KEY_NEAREST_STRIP] = store(folder, path.read_bytes(), ".png")
        except OSError as exc:
            say(f"{team}: the memorisation evidence {grid} was not kept in {folder} ({exc})")
    return out


def strip_names(row: dict[str, Any]) -> tuple[str, str]:
    """The row's (sample strip, nearest strip) file names, each blank unless it is a name this
    module writes (a hand-edited cell never becomes a path)."""

    def named(key: str) -> str:
        value = row.get(key)
        text = value.strip() if isinstance(value, str) else ""
        return text if NAME.fullmatch(text) else ""

    return named(KEY_SAMPLE_STRIP), named(KEY_NEAREST_STRIP)
