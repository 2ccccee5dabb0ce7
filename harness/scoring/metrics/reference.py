"""Real-image references for FID: features and statistics per class, computed once, cached.

A reference is keyed by everything that changes it: the split's content fingerprint, split and
subset, class, image size, resizer, extractor, weights sha256 and feature dims. The key is
hashed into the file name and stored inside the file, and checked on load, so a changed image,
size or weights file can never be scored against stale statistics. A digest of the arrays is
stored beside them and checked too: a file altered after it was written is recomputed.
References of the held-out ``test`` split live under the held-out cache, which team code never
sees.

Inception is slow on a CPU (measured on a 2-core CPU: about 10 images/s), so the first pass
over the ~1,800 test images is a one-time cost the cache shares between every team's row;
``harness prepare`` makes every such cache ahead. The pass shows its own measured rate and
time left (:mod:`harness.scoring.progress`); nothing here predicts a duration.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic, data
from harness.classes import CLASS_NAMES
from harness.data import cache as data_cache
from harness.data.resize import RESIZER
from harness.errors import HarnessError
from harness.hashing import arrays_digest
from harness.paths import cache_root
from harness.scoring.metrics.fid import Statistics, statistics
from harness.scoring.metrics.inception import InceptionFeatures
from harness.scoring.progress import one_time_pass

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Reference:
    """Real features float64 ``[n, d]`` of one class (or all), their statistics and key."""

    features: np.ndarray
    stats: Statistics
    key: dict[str, Any]
    digest: str


def reference_key(
    root: Path, split: str, subset: str, label: int, size: int, extractor: InceptionFeatures
) -> dict[str, Any]:
    """Every field that changes a reference, in one place."""
    return {
        "fingerprint": data.split_fingerprint(root, split),
        "split": split,
        "subset": subset,
        "class": CLASS_NAMES[label],
        "size": size,
        "resizer": RESIZER,
        "extractor": extractor.name,
        "weights_sha256": extractor.weights.sha256,
        "dims": extractor.dims,
        "format": FORMAT_VERSION,
    }


def key_digest(key: dict[str, Any]) -> str:
    """A stable short hash of a key, used as the cache file name and recorded in rows."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _folder(split: str) -> Path:
    return (data_cache.heldout_cache_root() if split == "test" else cache_root()) / "stats"


def class_reference(
    root: Path,
    label: int,
    size: int,
    extractor: InceptionFeatures,
    *,
    split: str = "test",
    subset: str = "all",
    use_cache: bool = True,
) -> Reference:
    """The reference of one class: loaded from the cache, or computed and cached."""
    key = reference_key(root, split, subset, label, size, extractor)
    digest = key_digest(key)
    path = _folder(split) / f"{digest}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                stored = json.loads(str(archive["key"]))
                features, mu, sigma = archive["features"], archive["mu"], archive["sigma"]
                intact = str(archive["sha256"]) == arrays_digest(features, mu, sigma)
                if stored == key and intact:
                    print(
                        f"real statistics: cache hit {digest} ({key['class']}, {split})",
                        file=sys.stderr,
                    )
                    return Reference(features, Statistics(mu, sigma, len(features)), key, digest)
                if stored == key:
                    print(
                        f"real statistics: {path} fails its hash check; recomputing",
                        file=sys.stderr,
                    )
        except (OSError, ValueError, KeyError):
            pass  # unreadable or foreign: recompute and overwrite
    arrays = data_cache.cached_split(root, split, size, subset=subset)  # type: ignore[arg-type]
    images = arrays.of_class(label)
    if len(images) < 2:
        part = split if subset == "all" else f"the {subset} part of {split}"
        raise HarnessError(
            f"{part} has {len(images)} images of {CLASS_NAMES[label]}; FID needs at least 2"
        )
    what = _description(split, subset, label)
    with one_time_pass(what, len(images), cached=use_cache):
        features = extractor(np.asarray(images), progress=what)
    stats = statistics(features)
    if use_cache:
        atomic.write_with(
            path,
            lambda handle: np.savez(
                handle,
                features=features,
                mu=stats.mu,
                sigma=stats.sigma,
                key=json.dumps(key, sort_keys=True),
                sha256=arrays_digest(features, stats.mu, stats.sigma),
            ),
        )
    return Reference(features, stats, key, digest)


def _description(split: str, subset: str, label: int) -> str:
    """What a pass computes, as its progress bar and closing line name it."""
    part = split if subset == "all" else f"{split}/{subset}"
    return f"Inception features of real {CLASS_NAMES[label]} ({part})"


def reference_cached(
    root: Path,
    label: int,
    size: int,
    extractor: InceptionFeatures,
    *,
    split: str = "test",
    subset: str = "all",
) -> bool:
    """Whether :func:`class_reference` would find this reference in the cache (its file
    exists; its content is checked when it is loaded)."""
    key = reference_key(root, split, subset, label, size, extractor)
    return (_folder(split) / f"{key_digest(key)}.npz").is_file()


def combined(references: list[Reference]) -> Reference:
    """One reference over several classes (for the overall FID), from their features."""
    features = np.concatenate([r.features for r in references])
    key = {"combined": [r.digest for r in references]}
    return Reference(features, statistics(features), key, key_digest(key))
