"""The face-mask dataset on disk: its layout, checks, import and fingerprint.

The layout is the original dataset's (ndb796/Face-Mask-Classification-20000-Dataset)::

    <root>/train/with_mask/*.png   <root>/train/without_mask/*.png
    <root>/test/with_mask/*.png    <root>/test/without_mask/*.png

``test`` is the held-out split: only the scorer reads it (see :mod:`harness.data.cache`).
A fingerprint of each split's file contents keys every cache derived from it, so that a changed
image can never be scored against stale statistics.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness import atomic
from harness.classes import CLASS_NAMES, SPLITS
from harness.errors import DataError
from harness.hashing import file_digest
from harness.paths import cache_root

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LAYOUT_HINT = "expected <data>/train|test/with_mask|without_mask/*.png"


@dataclass(frozen=True)
class SplitFiles:
    """The image files of one split, per class index, sorted by name."""

    split: str
    files: tuple[tuple[Path, ...], ...]

    def count(self, label: int) -> int:
        """Number of images of class ``label``."""
        return len(self.files[label])

    def items(self) -> Iterable[tuple[Path, int]]:
        """Every (path, label) pair, class by class, in a fixed order."""
        for label, paths in enumerate(self.files):
            for path in paths:
                yield path, label


@dataclass
class CheckReport:
    """What :func:`check_images` found: fatal problems and harmless conversions."""

    problems: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)
    sizes: dict[tuple[int, int], int] = field(default_factory=dict)


def _missing_data_message(root: Path) -> str:
    return (
        f"data folder {root} does not exist; pass --data PATH, or say it once with "
        f"`harness config set data PATH`, for a folder in the layout "
        f"train|test/with_mask|without_mask; or run `harness data import PATH` or "
        f"`harness data download`"
    )


def list_split(root: Path, split: str) -> SplitFiles:
    """List one split's images, raising :class:`DataError` on a layout problem.

    Every missing or empty class folder is named in one message, so a user fixes the layout in
    one go rather than one error at a time.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(_missing_data_message(root))
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    problems = []
    per_class: list[tuple[Path, ...]] = []
    for name in CLASS_NAMES:
        folder = root / split / name
        if not folder.is_dir():
            problems.append(f"missing folder {folder}")
            per_class.append(())
            continue
        files = tuple(
            sorted(
                p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
        )
        if not files:
            problems.append(f"no .png/.jpg images in {folder}")
        per_class.append(files)
    if problems:
        raise DataError("; ".join(problems) + f" ({LAYOUT_HINT})")
    return SplitFiles(split=split, files=tuple(per_class))


# What PIL raises for a file that is not a usable image: not an image at all (empty, text),
# truncated or corrupt data, or a header claiming more pixels than PIL will decode.
UNREADABLE_IMAGE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
)


REPLACE_HINT = "; remove or replace it"


def _unreadable(path: Path, exc: BaseException) -> DataError:
    """One line naming the file and why PIL refused it."""
    if isinstance(exc, Image.DecompressionBombError):
        why = f"it is too large to decode safely ({exc})"
    elif Path(path).is_file() and Path(path).stat().st_size == 0:
        why = "the file is empty (0 bytes)"
    else:
        why = str(exc) or type(exc).__name__
    return DataError(f"cannot read image {path}: {why}{REPLACE_HINT}")


def image_size(path: Path) -> tuple[int, int]:
    """An image's (width, height) from its header, without decoding the pixels.

    Raises:
        DataError: the file is not a readable image; the message names its path.
    """
    try:
        with Image.open(path) as img:
            return img.width, img.height
    except UNREADABLE_IMAGE as exc:
        raise _unreadable(path, exc) from None


def read_rgb(path: Path) -> tuple[np.ndarray, str]:
    """Decode an image file to uint8 RGB ``[H, W, 3]``; also return its original mode.

    Grayscale, palette and RGBA images are converted to RGB (alpha is dropped, as PIL does).

    Raises:
        DataError: the file is not a readable image (empty, not an image, truncated, or over
            PIL's decompression-bomb limit); the message names its path.
    """
    try:
        with Image.open(path) as img:
            mode = img.mode
            if mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except UNREADABLE_IMAGE as exc:
        raise _unreadable(path, exc) from None
    return array, mode


def check_images(files: Iterable[Path]) -> CheckReport:
    """Decode every file once and collect unreadable files and mode conversions."""
    report = CheckReport()
    for path in files:
        try:
            array, mode = read_rgb(path)
        except DataError as exc:
            report.problems.append(str(exc).removesuffix(REPLACE_HINT))  # said once for all
            continue
        if mode != "RGB":
            report.converted.append(f"{path} ({mode} -> RGB)")
        size = (array.shape[1], array.shape[0])
        report.sizes[size] = report.sizes.get(size, 0) + 1
    return report


def split_fingerprint(root: Path, split: str) -> str:
    """SHA-256 over the split's relative paths and file contents.

    Hashing 200 MB takes about a second, so the result is remembered under the cache folder,
    keyed by every file's path, size and modification time; any change to those recomputes it.
    """
    files = list_split(root, split)
    memo = fingerprint_memo(files)
    if memo.is_file():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    for path, label in files.items():
        digest.update(f"{split}/{CLASS_NAMES[label]}/{path.name}\t{file_digest(path)}\n".encode())
    value = digest.hexdigest()
    atomic.write_text(memo, value + "\n")
    return value


def fingerprint_memo(files: SplitFiles) -> Path:
    """Where the fingerprint of these files is remembered: keyed by every file's resolved
    path, size and modification time, so that any change to them recomputes it."""
    stat_key = hashlib.sha256()
    for path, _ in files.items():
        st = path.stat()
        stat_key.update(f"{path.resolve()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return cache_root() / "fingerprints" / f"{stat_key.hexdigest()}.txt"


def dataset_fingerprint(root: Path) -> str:
    """One fingerprint for the whole dataset, built from the per-split ones."""
    joined = "".join(f"{s}:{split_fingerprint(root, s)}\n" for s in SPLITS)
    return hashlib.sha256(joined.encode()).hexdigest()


def dataset_info(root: Path) -> dict[str, object]:
    """Counts per split and class, image sizes (from a sample of files) and fingerprints."""
    info: dict[str, object] = {"root": str(root)}
    counts: dict[str, dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for split in SPLITS:
        files = list_split(root, split)
        counts[split] = {name: files.count(i) for i, name in enumerate(CLASS_NAMES)}
        for label in range(len(CLASS_NAMES)):
            for path in files.files[label][:: max(1, files.count(label) // 50)]:
                width, height = image_size(path)
                key = f"{width}x{height}"
                sizes[key] = sizes.get(key, 0) + 1
        info[f"fingerprint_{split}"] = split_fingerprint(root, split)
    info["counts"] = counts
    info["sizes_sampled"] = dict(sorted(sizes.items(), key=lambda kv: -kv[1]))
    info["fingerprint"] = dataset_fingerprint(root)
    return info


def import_dataset(source: Path, dest: Path, *, overwrite: bool = False) -> CheckReport:
    """Check ``source`` and copy it into ``dest`` in the harness layout.

    Every image is decoded first; nothing is copied unless all of them are readable. RGB PNG and
    JPEG files are copied byte for byte; other modes are converted to RGB and saved as PNG.

    Raises:
        DataError: a layout problem, unreadable files (up to ten named), or ``dest`` exists.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise DataError(f"import source {source} is not a folder ({LAYOUT_HINT})")
    splits = {split: list_split(source, split) for split in SPLITS}
    report = CheckReport()
    for files in splits.values():
        part = check_images(path for path, _ in files.items())
        report.problems += part.problems
        report.converted += part.converted
        for size, n in part.sizes.items():
            report.sizes[size] = report.sizes.get(size, 0) + n
    if report.problems:
        shown = "; ".join(report.problems[:10])
        more = f" (and {len(report.problems) - 10} more)" if len(report.problems) > 10 else ""
        raise DataError(
            f"{len(report.problems)} unreadable image(s) in {source}: {shown}{more}; "
            "remove or replace them and import again"
        )
    if dest.exists() and any(dest.iterdir()):
        if not overwrite:
            raise DataError(f"{dest} already holds data; pass --overwrite to replace it")
        shutil.rmtree(dest)
    staging = dest.with_name(dest.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    for split, files in splits.items():
        for path, label in files.items():
            out_dir = staging / split / CLASS_NAMES[label]
            out_dir.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as img:
                keep = img.mode == "RGB"
            if keep:
                shutil.copy2(path, out_dir / path.name)
            else:
                array, _ = read_rgb(path)
                Image.fromarray(array).save(out_dir / (path.stem + ".png"))
    os.replace(staging, dest)
    return report
