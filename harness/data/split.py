"""The public and private parts of the held-out ``test`` split, as on Kaggle.

Teams that re-submit tune to whatever board they see. Kaggle's answer, used here: the public
board is computed on one part of the held-out images and the final ranking on the rest, which
no team ever sees a number of before the end. ``harness data split`` assigns each ``test``
image to ``public`` or ``private``, per class (so both parts keep the class balance), by a
permutation drawn from a secret seed, and writes the assignment to ``<data>/heldout-split.json``:
beside the test data, never in the repository, and on the list of paths team code may not open
(:func:`harness.sandbox.runner.forbidden_paths`).

The assignment names files, not positions, and records the ``test`` split's content
fingerprint: scoring refuses a split made for other images. Its digest goes into every row,
so rows scored against different splits are never ranked together.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import atomic
from harness.classes import CLASS_NAMES
from harness.data.layout import list_split, split_fingerprint
from harness.errors import DataError

SPLIT_FILE = "heldout-split.json"
PARTS: tuple[str, ...] = ("public", "private")
FORMAT = 1
MIN_PER_PART = 2  # FID needs two images on each side


@dataclass(frozen=True)
class HeldoutSplit:
    """Which ``test`` files of each class are public; the rest are private.

    Attributes:
        public: per class index, the file names on the public board.
        public_fraction: the share asked for (each class rounds to whole images).
        test_fingerprint: content fingerprint of the ``test`` split it was made for.
        digest: a short hash of the assignment, recorded in every row scored with it.
    """

    public: tuple[frozenset[str], ...]
    public_fraction: float
    test_fingerprint: str
    digest: str

    def public_mask(self, label: int, names: list[str]) -> np.ndarray:
        """For files of class ``label`` in the given order: True where the file is public."""
        return np.array([name in self.public[label] for name in names], dtype=bool)


def split_path(root: Path) -> Path:
    """Where the assignment of the dataset at ``root`` lives (beside ``test``)."""
    return Path(root) / SPLIT_FILE


def assign_public(names: list[str], fraction: float, seed: int, label: int) -> list[str]:
    """The public names of one class: the first ``round(fraction * n)`` of a seeded permutation
    of the sorted names, so the result depends on the seed and the names, never on disk order."""
    ordered = sorted(names)
    count = round(fraction * len(ordered))
    order = np.random.default_rng([seed, label]).permutation(len(ordered))
    return sorted(ordered[i] for i in order[:count])


def _digest(test_fingerprint: str, public: dict[str, list[str]]) -> str:
    text = json.dumps({"test": test_fingerprint, "public": public}, sort_keys=True)
    # A leading letter: a CSV reader never mistakes the digest for a number.
    return "s" + hashlib.sha256(text.encode()).hexdigest()[:15]


def make_split(
    root: Path,
    *,
    public_fraction: float = 0.5,
    seed: int | None = None,
    overwrite: bool = False,
) -> HeldoutSplit:
    """Assign every ``test`` image to the public or private part and write the assignment.

    Args:
        root: the dataset folder.
        public_fraction: share of each class that goes public (default 0.5).
        seed: the secret seed; by default 63 random bits from :mod:`secrets`. It is kept in
            the assignment file (which is itself secret), so the split can be audited later.
        overwrite: replace an existing assignment (rows scored with the old one stop being
            ranked with new ones, since their digests differ).

    Raises:
        DataError: a layout problem, a fraction outside (0, 1), a part with fewer than two
            images of a class, or an existing assignment without ``overwrite``.
    """
    if not 0 < public_fraction < 1:
        raise DataError(f"--public-fraction must lie between 0 and 1, got {public_fraction}")
    files = list_split(root, "test")
    path = split_path(root)
    if path.exists() and not overwrite:
        raise DataError(
            f"{path} already assigns the test images; pass --overwrite to draw a new split "
            "(rows scored with the old one will no longer be ranked with new ones)"
        )
    seed = secrets.randbits(63) if seed is None else int(seed)
    public: dict[str, list[str]] = {}
    for label, name in enumerate(CLASS_NAMES):
        names = [p.name for p in files.files[label]]
        chosen = assign_public(names, public_fraction, seed, label)
        for part, count in (("public", len(chosen)), ("private", len(names) - len(chosen))):
            if count < MIN_PER_PART:
                raise DataError(
                    f"a public fraction of {public_fraction} leaves {count} {name} image(s) in "
                    f"the {part} part of {len(names)}; each part needs at least {MIN_PER_PART}"
                )
        public[name] = chosen
    fingerprint = split_fingerprint(root, "test")
    record = {
        "format": FORMAT,
        "seed": seed,
        "public_fraction": public_fraction,
        "test_fingerprint": fingerprint,
        "digest": _digest(fingerprint, public),
        "public": public,
    }
    atomic.write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return _from_record(record)


def _from_record(record: dict[str, object]) -> HeldoutSplit:
    public = record["public"]
    assert isinstance(public, dict)
    return HeldoutSplit(
        public=tuple(frozenset(public.get(name, ())) for name in CLASS_NAMES),
        public_fraction=float(record["public_fraction"]),  # type: ignore[arg-type]
        test_fingerprint=str(record["test_fingerprint"]),
        digest=str(record["digest"]),
    )


def load_split(root: Path) -> HeldoutSplit | None:
    """The dataset's public/private assignment, or None when it has none.

    Raises:
        DataError: the file is unreadable, or was made for other ``test`` images.
    """
    path = split_path(root)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        split = _from_record(record)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise DataError(
            f"public/private split {path} is unreadable ({exc}); "
            "run `harness data split --overwrite` to draw a new one"
        ) from None
    current = split_fingerprint(root, "test")
    if split.test_fingerprint != current:
        raise DataError(
            f"public/private split {path} was made for other test images (fingerprint "
            f"{split.test_fingerprint[:12]}, now {current[:12]}); run `harness data split "
            "--overwrite` to draw one for these"
        )
    return split
