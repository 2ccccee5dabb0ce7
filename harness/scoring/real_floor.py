"""The real-data floor: N real ``train`` images per class, scored like a submission.

FID between two finite samples of the same distribution is not zero: it shrinks as N grows,
and at the competition's N (1,000 per class against some 900 test reals) real photographs
still score tens of points. A board without that floor reads as if 0 were reachable. This
draws N ``train`` images per class (a seeded choice without replacement, at the competition's
image size, through the same decoder and resizer as the test references), writes them as a
``samples`` submission in ``<runs>/references/real-train/`` (training data: never in the
repository), and scores them with the same :class:`~harness.scoring.score.Scorer` as every
team. The row carries ``reference = True``; the boards show it, ranked ``ref``, beside the
teams (:mod:`harness.board.references`). The memorisation check flags it, rightly: it is
training data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic
from harness.classes import NUM_CLASSES
from harness.errors import DataError

REFERENCE_TEAM = "real-train"
REFERENCE_FOLDER = Path("references") / REFERENCE_TEAM


def floor_samples(
    data_root: Path, *, n_per_class: int, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` train images of each class (uint8 NHWC) and their labels (int64).

    Raises:
        DataError: a class has fewer than ``n_per_class`` train images.
    """
    from harness.classes import CLASS_NAMES
    from harness.data.cache import cached_split

    arrays = cached_split(data_root, "train", size)
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(NUM_CLASSES):
        pool = arrays.of_class(c)
        if len(pool) < n_per_class:
            raise DataError(
                f"train has {len(pool)} {CLASS_NAMES[c]} images, fewer than the {n_per_class} "
                "per class the floor needs; pass a smaller --n"
            )
        chosen = np.sort(rng.choice(len(pool), size=n_per_class, replace=False))
        images.append(np.asarray(pool[chosen], dtype=np.uint8))
        labels.append(np.full(n_per_class, c, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def write_floor_submission(
    data_root: Path, folder: Path, *, n_per_class: int, size: int, seed: int
) -> Path:
    """Write the floor's ``samples.npz`` into ``folder`` (atomically) and return its path."""
    images, labels = floor_samples(data_root, n_per_class=n_per_class, size=size, seed=seed)
    path = Path(folder) / "samples.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_with(path, lambda handle: np.savez(handle, images=images, labels=labels))
    return path


def score_real_floor(scorer: Any, *, seed: int) -> dict[str, Any]:
    """Draw the floor at the scorer's N and image size, score it, and return its row.

    Args:
        scorer: a :class:`~harness.scoring.score.Scorer` (the same one the teams use).
        seed: which train images are drawn (recorded in the row's ``source_note``).
    """
    settings = scorer.settings
    n, size = int(settings.n_per_class), int(settings.samples_image_size)
    folder = scorer.runs_root / REFERENCE_FOLDER
    scorer.say(f"{REFERENCE_TEAM}: drawing {n} train images per class at {size}px (seed {seed})")
    write_floor_submission(scorer.data_root, folder, n_per_class=n, size=size, seed=seed)
    row = scorer.score_team(folder)
    row["reference"] = True
    row["source_note"] = (
        f"reference, not a team: {n} real train images per class (seed {seed}), what a "
        "perfect generator would score at this N"
    )
    return row
