"""Held-out images handed in as samples: each sample's distance to its nearest ``test`` image.

MiFID (:mod:`.memorisation`) compares samples with ``train`` only, so a team that hands in the
held-out images themselves (the face-mask set is public: no harness code is needed to get
them) scores a near-zero FID and is not flagged. This check uses the same Inception features
the row's FID already used, on both sides (the test features are the cached references), so
it costs no Inception pass, only one matrix product per class.

The rule, per sample: its cosine distance ``1 - |cos|`` (memorisation's distance) to the
nearest held-out feature of either class is under :data:`DEFAULT_THRESHOLD`, and, when the
train features are at hand, strictly under its distance to the nearest train image of its
class too (a copy of a train image that also sits near a held-out one is memorisation, a
different flag). A submission is a ``test_leak`` when at least :data:`DEFAULT_MIN_FRACTION`
of its samples count.

Calibrated on the face-mask data at 64 x 64, pool3 (``bench/test_leak.py``, figures in
bench/README.md): an exact copy sits at 0, while an unseen real face (a train image against
the test set, what a perfect generator's sample would look like) is at least 0.043 from its
nearest held-out image and under 0.05 for 1% of faces, a fifth of the 5% that flags (and the
train comparison removes most of those for generated samples, which usually lie nearer to
the 5.6 times larger train set). Altered copies spread over that gap: per sample, 83% of
flipped copies, 43% of 90% crops and 53% of JPEG quality-75 copies are under 0.05, and 7% of
80% crops and 8% of quality-50 copies, so a submission made of any of those is still flagged;
70% crops, JPEG quality 25 and noise of sigma 8 are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.scoring.metrics import memorisation as memo

DEFAULT_THRESHOLD = 0.05
DEFAULT_MIN_FRACTION = 0.05
TIE = 1e-9  # rounding: an exact copy's distance is 0 or 1e-16 on either side


@dataclass(frozen=True)
class LeakCheck:
    """The check of one submission.

    Attributes:
        nearest: per class, each sample's nearest held-out image (its row in the held-out
            features of all classes, concatenated in class order) and the distance to it.
        counted: per class, whether each sample (as in ``nearest``) counts as a held-out copy.
        n_samples: samples checked, all classes together.
        threshold, min_fraction: the rule's parameters.
    """

    nearest: tuple[memo.Nearest, ...]
    counted: tuple[np.ndarray, ...]
    n_samples: int
    threshold: float
    min_fraction: float

    @property
    def n_counted(self) -> int:
        """How many samples sit on held-out images."""
        return int(sum(int(c.sum()) for c in self.counted))

    @property
    def fraction(self) -> float:
        """The share of all samples that sit on held-out images (0 without samples)."""
        return self.n_counted / self.n_samples if self.n_samples else 0.0

    @property
    def leaked(self) -> bool:
        """Whether the submission is flagged ``test_leak``."""
        return self.n_counted > 0 and self.fraction >= self.min_fraction

    def evidence(self) -> tuple[memo.Nearest, ...]:
        """Per class, the counted samples only (or every sample when none counts), for the
        nearest-pairs picture: it shows what was caught, nearest first."""
        if not self.n_counted:
            return self.nearest
        return tuple(
            memo.Nearest(n.distance[c], n.train_index[c], n.fake_index[c])
            for n, c in zip(self.nearest, self.counted, strict=True)
        )


def check(
    fakes: Sequence[np.ndarray],
    heldout: Sequence[np.ndarray],
    train: Sequence[np.ndarray] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> LeakCheck:
    """Check per-class sample features ``fakes`` against the held-out features ``heldout``.

    Args:
        fakes: per class, the samples' features ``[n_c, d]``.
        heldout: per class, the held-out (``test``) features; every sample is compared with
            all of them, so a held-out image handed in under the other class is caught too.
        train: per class, the train features, or None when memorisation was not measured
            (then the threshold alone decides).
        threshold: the distance under which a sample sits on a held-out image.
        min_fraction: the share of samples that must sit on held-out images to flag.
    """
    pool = np.concatenate([np.asarray(h, np.float64) for h in heldout])
    nearest, counted = [], []
    for c, fake in enumerate(fakes):
        record = memo.nearest_train(fake, pool)
        hit = record.distance < threshold
        if train is not None:
            # Same fake rows (all-zero features left out alike), so the arrays align.
            to_train = memo.nearest_train(fake, train[c])
            hit &= record.distance < to_train.distance - TIE
        nearest.append(record)
        counted.append(hit)
    return LeakCheck(
        nearest=tuple(nearest),
        counted=tuple(counted),
        n_samples=int(sum(len(f) for f in fakes)),
        threshold=threshold,
        min_fraction=min_fraction,
    )
