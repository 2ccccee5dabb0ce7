"""At what strength held-out images handed in as samples are still caught (issue 21, item 2).

The face-mask set is public, so a team can hand in its test images, altered, without touching
the harness. This takes ``--per-class`` test images of each class from their original files,
alters each as a team could (flip, centre crops, another resizer, a round trip through 32 px,
JPEG re-encoding, rotation, noise, combinations), brings it to the competition size and
measures, in the harness's own pool3 features, its cosine distance ``1 - |cos|`` to the
nearest image of the whole held-out set (both classes), as
:func:`harness.scoring.metrics.test_leak.check` does. As the other side, ``--train`` train
images per class (unseen real faces: what a perfect generator's samples would look like) are
measured the same way; they must stay above the threshold.

For each kind it reports the share caught under the threshold, whether the nearest held-out
image is the source image, and distance percentiles; then the largest threshold no unseen face
reaches. The held-out features come from the scorer's cache (``HARNESS_CACHE``); the first run
computes them (about 1,800 images). Run by hand; write the figures into bench/README.md.

    python bench/test_leak.py --data ../shared/facemask [--per-class 30] [--train 100] [--dump d.npz]
    python bench/test_leak.py --report-from d.npz   # the same distances at today's threshold
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Alter = Callable[[Image.Image, int], Image.Image]


def _square(image: Image.Image, size: int) -> Image.Image:
    from harness.data.resize import resize_square

    return Image.fromarray(resize_square(np.asarray(image.convert("RGB")), size))


def _crop(share: float) -> Alter:
    def alter(image: Image.Image, size: int) -> Image.Image:
        w, h = image.size
        cw, ch = round(w * share), round(h * share)
        left, top = (w - cw) // 2, (h - ch) // 2
        return _square(image.crop((left, top, left + cw, top + ch)), size)

    return alter


def _jpeg(quality: int, before: Alter | None = None) -> Alter:
    def alter(image: Image.Image, size: int) -> Image.Image:
        small = before(image, size) if before else _square(image, size)
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")

    return alter


def _flip(image: Image.Image, size: int) -> Image.Image:
    return _square(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), size)


def _rotate(degrees: float) -> Alter:
    def alter(image: Image.Image, size: int) -> Image.Image:
        turned = image.rotate(degrees, resample=Image.Resampling.BILINEAR)
        return _square(_crop(0.9)(turned, image.size[0]), size)  # cut the corners off

    return alter


def _noise(sigma: float) -> Alter:
    def alter(image: Image.Image, size: int) -> Image.Image:
        array = np.asarray(_square(image, size), np.float64)
        rng = np.random.default_rng(int(array.sum()) % 2**32)
        noisy = np.clip(array + rng.normal(0, sigma, array.shape), 0, 255)
        return Image.fromarray(noisy.round().astype(np.uint8))

    return alter


KINDS: dict[str, Alter] = {
    "exact copy": lambda im, s: _square(im, s),
    "flipped": _flip,
    "crop 90%": _crop(0.9),
    "crop 80%": _crop(0.8),
    "crop 70%": _crop(0.7),
    "resized (PIL nearest)": lambda im, s: im.convert("RGB").resize(
        (s, s), Image.Resampling.NEAREST
    ),
    "resized via 32 px": lambda im, s: _square(im, 32).resize((s, s), Image.Resampling.BICUBIC),
    "JPEG q75": _jpeg(75),
    "JPEG q50": _jpeg(50),
    "JPEG q25": _jpeg(25),
    "rotated 5 deg": _rotate(5),
    "noise sigma 8": _noise(8),
    "flip + crop 90% + JPEG q75": _jpeg(75, lambda im, s: _crop(0.9)(_flip(im, im.size[0]), s)),
}


def _percentiles(values: np.ndarray) -> dict[str, float]:
    names = ("min", "p5", "p50", "p95", "max")
    points = np.percentile(values, [0, 5, 50, 95, 100])
    return {n: round(float(v), 4) for n, v in zip(names, points, strict=True)}


def measure(
    data: Path, per_class: int, train_per_class: int, size: int, seed: int, dump: Path | None
) -> dict:
    """Features of the altered test images and of unseen train images against the held-out
    set; the report described in the module docstring."""
    import torch

    from harness.classes import NUM_CLASSES
    from harness.data import cache as data_cache
    from harness.data.layout import list_split, read_rgb
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.memorisation import nearest_train
    from harness.scoring.metrics.reference import class_reference

    device = "cuda" if torch.cuda.is_available() else "cpu"
    extractor = InceptionFeatures(dims=2048, device=device)
    started = time.perf_counter()
    heldout = [class_reference(data, c, size, extractor).features for c in range(NUM_CLASSES)]
    offsets = np.cumsum([0] + [len(h) for h in heldout])
    pool = np.concatenate(heldout)
    rng = np.random.default_rng(seed)
    files = list_split(data, "test")
    picked = [np.sort(rng.choice(len(files.files[c]), per_class, replace=False)) for c in (0, 1)]
    originals = [Image.fromarray(read_rgb(files.files[c][i])[0]) for c in (0, 1) for i in picked[c]]
    sources = np.concatenate([offsets[c] + picked[c] for c in (0, 1)])
    distances: dict[str, np.ndarray] = {}
    for name, alter in KINDS.items():
        images = np.stack([np.asarray(alter(im, size), np.uint8) for im in originals])
        record = nearest_train(extractor(images, progress=name), pool)
        distances[name] = record.distance
        distances[f"source:{name}"] = record.train_index == sources
    train = data_cache.cached_split(data, "train", size)
    unseen = np.concatenate(
        [
            train.of_class(c)[rng.choice(len(train.of_class(c)), train_per_class, replace=False)]
            for c in (0, 1)
        ]
    )
    distances["unseen"] = nearest_train(extractor(unseen, progress="unseen faces"), pool).distance
    if dump is not None:
        np.savez(dump, **distances)
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "size": size,
        "dims": 2048,
        "heldout_images": len(pool),
        "seconds": round(time.perf_counter() - started, 1),
        **summary(distances),
    }


def summary(distances: dict[str, np.ndarray]) -> dict:
    """Per kind: the share of altered copies under the threshold (``caught``), whether a
    submission of them is flagged (``caught`` at least the rule's fraction), whether the
    nearest held-out image is the source, distance percentiles; the same for unseen faces."""
    from harness.scoring.metrics import test_leak

    threshold, fraction = test_leak.DEFAULT_THRESHOLD, test_leak.DEFAULT_MIN_FRACTION
    kinds = {}
    for name in KINDS:
        if name not in distances:
            continue
        d = distances[name]
        caught = float((d < threshold).mean())
        kinds[name] = {
            "caught": round(caught, 3),
            "submission_flagged": caught >= fraction,
            "distance": _percentiles(d),
        }
        if f"source:{name}" in distances:
            kinds[name]["nearest_is_source"] = round(float(distances[f"source:{name}"].mean()), 3)
    unseen = distances["unseen"]
    return {
        "threshold": threshold,
        "min_fraction": fraction,
        "altered_images_per_kind": len(distances[next(k for k in KINDS if k in distances)]),
        "kinds": kinds,
        "unseen_train_faces": {
            "n": len(unseen),
            "under_threshold": round(float((unseen < threshold).mean()), 4),
            "distance": _percentiles(unseen),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the face-mask dataset folder")
    parser.add_argument("--per-class", type=int, default=30, help="test images altered per class")
    parser.add_argument("--train", type=int, default=100, help="unseen train faces per class")
    parser.add_argument("--size", type=int, default=64, help="the competition's image size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dump", type=Path, default=None, help="also save every distance (npz)")
    parser.add_argument(
        "--report-from",
        type=Path,
        default=None,
        help="a --dump of an earlier run: report it at the current threshold, no Inception",
    )
    args = parser.parse_args()
    if args.report_from is not None:
        with np.load(args.report_from) as archive:
            print(json.dumps(summary({k: archive[k] for k in archive.files}), indent=2))
        return
    if args.data is None:
        parser.error("--data is required (or --report-from)")
    report = measure(args.data, args.per_class, args.train, args.size, args.seed, args.dump)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
