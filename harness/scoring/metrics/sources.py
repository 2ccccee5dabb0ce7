"""What ``harness fid`` compares: image folders, sample archives or saved statistics.

A folder is read like ``python -m pytorch_fid`` reads it (the image files directly inside it,
sorted, decoded to RGB), so both tools see the same pixels. An ``.npz`` holding ``images``
(uint8 ``[N, H, W, 3]``, as ``harness sample`` writes) is used as it is, optionally one class
of it; an ``.npz`` holding ``mu`` and ``sigma`` (pytorch-fid's ``--save-stats`` format) gives
the statistics directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.data.layout import read_rgb
from harness.data.resize import resize_square
from harness.errors import DataError
from harness.scoring.metrics.fid import Statistics, statistics
from harness.scoring.metrics.inception import InceptionFeatures

IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")


def folder_files(path: Path) -> list[Path]:
    """The images directly inside ``path``, in pytorch-fid's order."""
    return sorted(f for ext in IMAGE_EXTENSIONS for f in Path(path).glob(f"*.{ext}"))


def load_images(path: Path, *, size: int | None = None, label: int | None = None) -> np.ndarray:
    """uint8 ``[N, H, W, 3]`` from a folder or an ``images`` archive.

    Args:
        size: resize every image to ``size`` x ``size`` with the harness resizer; without it
            images are used as they are and must all have one size.
        label: keep only this class from an archive that has ``labels``.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive:
                raise DataError(
                    f"{path} holds no 'images' array (keys: {', '.join(archive.files)})"
                )
            images = archive["images"]
            if label is not None:
                if "labels" not in archive:
                    raise DataError(f"{path} has no 'labels', so --class cannot select from it")
                images = images[archive["labels"] == label]
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise DataError(
                f"{path}: images must be uint8 [N, H, W, 3], got {images.dtype} {images.shape}"
            )
        arrays = list(images) if size is not None else None
    elif path.is_dir():
        files = folder_files(path)
        if not files:
            raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) directly inside {path}")
        arrays = [read_rgb(f)[0] for f in files]
        images = None
    else:
        raise DataError(f"{path} is neither an image folder nor an .npz file")
    if arrays is not None:
        if size is not None:
            arrays = [resize_square(a, size) for a in arrays]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise DataError(
                f"images in {path} have {len(shapes)} different sizes; pass --size S to resize them"
            )
        images = np.stack(arrays)
    assert images is not None
    if len(images) < 2:
        raise DataError(f"{path} has {len(images)} image(s); FID needs at least two")
    return images


def statistics_of(
    path: Path, extractor: InceptionFeatures, *, size: int | None = None, label: int | None = None
) -> Statistics:
    """Statistics of a folder, an images archive, or a saved-statistics archive."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "mu" in archive and "sigma" in archive:
                return Statistics(archive["mu"], archive["sigma"], -1)
    images = load_images(path, size=size, label=label)
    return statistics(extractor(images, progress=f"features of {path.name}"))
