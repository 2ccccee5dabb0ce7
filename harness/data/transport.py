"""A decoded split carried to another machine, losslessly and small: pack here, unpack there.

An offline GPU node (a cluster's compute node, a rented machine without network) gets the
repository and a few tens of MiB beside it, not the 224 px PNGs. :func:`pack_split` writes the
split's uint8 cache at one image size as one ``.npz`` of lossless WebP images (9,860 face-mask
images at 64 px: about 55 MB, against 121 MB raw, 77 MB as PNG and 91 MB with xz), with the
cache's ``meta`` (data fingerprint, resizer, array digest) and the file names.

:func:`unpack_split` decodes it there, checks the arrays against the digest recorded when the
cache was built here (so "lossless" is checked, not assumed), and installs them as the cache
the harness would have built from the original files. The data folder there holds the images
at the packed size under their original names, and the split's fingerprint is pinned to the
original's: a run trained there records the fingerprint of the data it was trained on, and
``harness score`` here sees a checkpoint trained on this split.
"""

from __future__ import annotations

import io
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from harness import atomic
from harness.classes import CLASS_NAMES
from harness.data import cache, layout
from harness.errors import DataError
from harness.hashing import arrays_digest

FORMAT = "harness-split-webp-1"
WEBP_OPTIONS = {"lossless": True, "quality": 100, "method": 4}  # method 6: slower and larger


def _threads() -> int:
    return max(1, min(32, os.cpu_count() or 1))


def _encode(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, "WEBP", **WEBP_OPTIONS)
    return buffer.getvalue()


def _decode(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def pack_split(root: Path, split: str, size: int, out: Path) -> dict[str, object]:
    """Write ``split`` of the dataset at ``root``, decoded at ``size`` px, to ``out`` (``.npz``).

    Every image is decoded back and the arrays compared with the cache's digest before the
    file is written, so a pack that would not unpack to the same bytes is never made.

    Returns:
        The pack's summary: path, bytes, count and the cache's meta.

    Raises:
        DataError: the data folder's layout, or a round trip that is not lossless.
    """
    arrays = cache.cached_split(root, split, size)
    out = Path(out)
    if out.is_file() and packed_meta(out) == arrays.meta:
        return {
            "path": str(out),
            "bytes": out.stat().st_size,
            "count": len(arrays.labels),
            "raw_bytes": int(arrays.images.nbytes),
            "meta": arrays.meta,
            "reused": True,
        }
    files = layout.list_split(root, split)
    names = [f"{CLASS_NAMES[label]}/{path.name}" for path, label in files.items()]
    labels = np.asarray(arrays.labels, dtype=np.int64)
    if len(names) != len(labels) or [n.split("/")[0] for n in names] != [
        CLASS_NAMES[int(y)] for y in labels
    ]:
        raise DataError(f"the {split} cache does not match the files in {root}; delete it")
    with ThreadPoolExecutor(_threads()) as pool:
        blobs = list(pool.map(_encode, arrays.images, chunksize=64))
        decoded = np.stack(list(pool.map(_decode, blobs, chunksize=64)))
    if arrays_digest(decoded, labels) != arrays.meta.get("sha256"):
        raise DataError("WebP round trip is not lossless here; this Pillow cannot pack the split")
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    record = {"format": FORMAT, "cache_meta": arrays.meta}
    atomic.write_with(
        out,
        lambda handle: np.savez(
            handle,
            blobs=np.frombuffer(b"".join(blobs), dtype=np.uint8),
            offsets=offsets,
            labels=labels,
            names_json_zlib=np.frombuffer(zlib.compress(json.dumps(names).encode(), 9), np.uint8),
            record_json=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8),
        ),
    )
    return {
        "path": str(out),
        "bytes": out.stat().st_size,
        "count": len(blobs),
        "raw_bytes": int(arrays.images.nbytes),
        "meta": arrays.meta,
        "reused": False,
    }


def packed_meta(pack: Path) -> dict[str, object] | None:
    """The cache meta a pack was made from (None when ``pack`` is not a readable pack): a
    pack whose meta equals the cache's own holds the same arrays and need not be made again."""
    try:
        with np.load(pack, allow_pickle=False) as archive:
            record = json.loads(archive["record_json"].tobytes())
    except (OSError, ValueError, KeyError):
        return None
    return record.get("cache_meta") if record.get("format") == FORMAT else None


def unpack_split(pack: Path, root: Path) -> cache.SplitArrays:
    """Install a pack made by :func:`pack_split` as the dataset ``root`` and its cache.

    ``root/<split>/<class>/<name>`` receive the images at the packed size (PNG), the cache
    (under ``$HARNESS_CACHE``) the arrays, and the split's fingerprint is pinned to the
    original's. Returns the split as :func:`harness.data.cache.cached_split` serves it.

    Raises:
        DataError: the file is not such a pack, or its images do not decode to the arrays
            whose digest it recorded.
    """
    try:
        with np.load(pack, allow_pickle=False) as archive:
            record = json.loads(archive["record_json"].tobytes())
            blobs = archive["blobs"]
            offsets = archive["offsets"]
            labels = archive["labels"]
            names = json.loads(zlib.decompress(archive["names_json_zlib"].tobytes()))
    except (OSError, ValueError, KeyError, zlib.error) as exc:
        raise DataError(
            f"{pack} is not a split pack ({exc}); make it with the pack stage"
        ) from None
    if record.get("format") != FORMAT:
        raise DataError(f"{pack} is not a {FORMAT} pack; make it again")
    meta = record["cache_meta"]
    split, size = str(meta["split"]), int(meta["size"])
    chunks = [blobs[offsets[i] : offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]
    with ThreadPoolExecutor(_threads()) as pool:
        images = np.stack(list(pool.map(_decode, chunks, chunksize=64)))
        if arrays_digest(images, labels) != meta.get("sha256"):
            raise DataError(f"{pack} does not decode to the arrays it was made from; pack again")
        targets = [Path(root) / split / name for name in names]
        for folder in {t.parent for t in targets}:
            folder.mkdir(parents=True, exist_ok=True)
        list(
            pool.map(
                lambda pair: Image.fromarray(pair[1]).save(pair[0], "PNG", compress_level=1),
                zip(targets, images, strict=True),
            )
        )
    atomic.write_text(layout.fingerprint_memo(layout.list_split(root, split)), meta["fingerprint"])
    folder = cache.cache_folder(str(meta["fingerprint"]), split, "all", size)
    cache.store_arrays(folder, images, labels, meta)
    return cache.cached_split(root, split, size, progress=False)
