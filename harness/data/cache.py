"""Decoded, resized uint8 tensors per split and image size, built once and memory-mapped.

Training epochs and metric runs never touch PNG files: the first use of a (split, subset, size)
decodes every image with :func:`harness.data.resize.resize_square` into ``images.npy`` (uint8
``[N, S, S, 3]``) and ``labels.npy`` (int64 ``[N]``) under the cache folder. The folder name
and ``meta.json`` hold the split's content fingerprint, the resizer and the size, so an edited
dataset or another resizer can never be served a stale array.

Subsets carve a validation set out of ``train`` for tuning, deterministically by file name,
so that tuning never needs the held-out ``test`` split.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from harness import atomic
from harness.data import layout
from harness.data.resize import RESIZER, resize_square
from harness.errors import DataError
from harness.hashing import arrays_digest
from harness.paths import cache_root

Subset = Literal["all", "fit", "val"]
SUBSETS: tuple[str, ...] = ("all", "fit", "val")
VALIDATION_PERCENT = 10
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SplitArrays:
    """One cached split: images uint8 ``[N, S, S, 3]``, labels int64 ``[N]``, and its key."""

    images: np.ndarray
    labels: np.ndarray
    meta: dict[str, object]
    folder: Path

    def of_class(self, label: int) -> np.ndarray:
        """The images of one class, in cache order."""
        return self.images[self.labels == label]


def in_validation(name: str) -> bool:
    """Whether a ``train`` file belongs to the tuning validation subset (10%, by name hash)."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 100 < VALIDATION_PERCENT


def _select(files: layout.SplitFiles, subset: str) -> list[tuple[Path, int]]:
    items = list(files.items())
    if subset == "all":
        return items
    want_val = subset == "val"
    return [(p, y) for p, y in items if in_validation(p.name) == want_val]


def cache_folder(fingerprint: str, split: str, subset: str, size: int) -> Path:
    """Where the arrays for this key live; every field that changes them is in the name."""
    resizer = hashlib.sha256(RESIZER.encode()).hexdigest()[:8]
    name = f"{split}-{subset}-{size}px-{fingerprint[:20]}-r{resizer}-v{FORMAT_VERSION}"
    return (heldout_cache_root() if split == "test" else cache_root() / "images") / name


def heldout_cache_root() -> Path:
    """Caches derived from the held-out ``test`` split; child processes may not open them."""
    return cache_root() / "heldout"


def load_arrays(folder: Path, *, verify: bool = False) -> SplitArrays:
    """Memory-map a cache folder written by :func:`cached_split`.

    Args:
        folder: the cache folder.
        verify: check the arrays against the digest recorded when they were written (the
            parent does, for every cache it reads; a training child has no reason to).

    Raises:
        DataError: unreadable, malformed, or (with ``verify``) not what was written.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        images = np.load(folder / "images.npy", mmap_mode="r")
        labels = np.load(folder / "labels.npy")
    except (OSError, ValueError) as exc:
        raise DataError(
            f"image cache {folder} is unreadable ({exc}); delete it to rebuild"
        ) from None
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        raise DataError(f"image cache {folder} is malformed; delete it to rebuild")
    if verify and meta.get("sha256") != arrays_digest(images, labels):
        raise DataError(f"image cache {folder} fails its hash check; delete it to rebuild")
    return SplitArrays(images=images, labels=labels, meta=meta, folder=folder)


def cached_split(
    root: Path, split: str, size: int, *, subset: Subset = "all", progress: bool = True
) -> SplitArrays:
    """Return the split's images at ``size`` x ``size``, decoding them on the first call.

    Args:
        root: dataset folder in the harness layout.
        split: ``train`` or ``test``.
        size: output side in pixels.
        subset: ``all``; or for ``train`` only, ``fit`` (90%) or ``val`` (10%).
        progress: show a progress bar on stderr while decoding.

    Raises:
        DataError: layout problems, unreadable images, or a subset asked of ``test``.
    """
    if subset not in SUBSETS:
        raise DataError(f"unknown subset {subset!r}; use one of {', '.join(SUBSETS)}")
    if subset != "all" and split != "train":
        raise DataError("validation subsets are carved from train only; test stays held out")
    if size < 8:
        raise DataError(f"image size {size} is too small; use at least 8 pixels")
    files = layout.list_split(root, split)
    fingerprint = layout.split_fingerprint(root, split)
    folder = cache_folder(fingerprint, split, subset, size)
    if (folder / "meta.json").is_file():
        try:
            cached = load_arrays(folder, verify=True)
        except DataError as exc:
            print(f"{str(exc).split(';')[0]}; rebuilding it", file=sys.stderr)
        else:
            if cached.meta.get("fingerprint") == fingerprint and cached.meta.get("size") == size:
                return cached
    items = _select(files, subset)
    if not items:
        raise DataError(f"subset {subset!r} of {split} in {root} is empty")
    images = np.empty((len(items), size, size, 3), dtype=np.uint8)
    labels = np.empty(len(items), dtype=np.int64)
    bar = tqdm(
        items,
        desc=f"decoding {split}/{subset} at {size}px",
        unit="img",
        disable=not progress,
        file=sys.stderr,
        leave=False,
    )
    for i, (path, label) in enumerate(bar):
        array, _ = layout.read_rgb(path)
        images[i] = resize_square(array, size)
        labels[i] = label
    meta = {
        "fingerprint": fingerprint,
        "split": split,
        "subset": subset,
        "size": size,
        "resizer": RESIZER,
        "count": len(items),
        "per_class": np.bincount(labels, minlength=2).tolist(),
        "format_version": FORMAT_VERSION,
        "sha256": arrays_digest(images, labels),
    }
    store_arrays(folder, images, labels, meta)
    return load_arrays(folder)


def store_arrays(folder: Path, images: np.ndarray, labels: np.ndarray, meta: dict) -> None:
    """Write a cache folder atomically (staging folder, then one rename).

    :func:`cached_split` writes what it decoded; :mod:`harness.data.transport` writes a split
    carried to another machine, whose ``meta`` (fingerprint, digest) came with it.
    """
    staging = None
    try:
        # numpy reports a short write as an OSError with no errno: writer_only lets the
        # free-space check name the full disk anyway.
        with atomic.disk_full_as_error(
            folder, writer_only=True, hint=" or set HARNESS_CACHE to a folder on a disk with room"
        ):
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
            np.save(staging / "images.npy", images)
            np.save(staging / "labels.npy", labels)
            (staging / "meta.json").write_text(json.dumps(meta, indent=2))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
