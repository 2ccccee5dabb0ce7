"""Precision, recall, density and coverage (Naeem et al. 2020), from Inception features.

FID mixes two failures into one number: samples that do not look real (fidelity) and samples
that cover too little of the real variety (diversity). These four split them, with k-nearest
neighbour balls around feature vectors (Euclidean, k = 5 by default):

- precision: share of fakes inside some real's ball (its radius: distance to its k-th
  nearest real); density: the mean number of real balls a fake lies in, divided by k (it is
  not capped at 1, and rewards fakes where reals are dense);
- recall: share of reals inside some fake's ball (Kynkäänniemi et al. 2019);
- coverage: share of reals whose ball holds at least one fake: diversity measured around
  the reals, robust to outlying fakes.

This follows the authors' reference code (PyPI ``prdc`` 0.2, NAVER, MIT) step for step; a
test checks the four numbers against it. Distances use ``|a|^2 + |b|^2 - 2 a.b`` in float64,
as scikit-learn's ``euclidean_distances`` (which that code calls) does, so the whole
computation is three matrix products.
Reference: M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo, "Reliable Fidelity and Diversity
Metrics for Generative Models", ICML 2020.
"""

from __future__ import annotations

import numpy as np

from harness.errors import NumericalError

DEFAULT_K = 5
KEYS: tuple[str, ...] = ("precision", "recall", "density", "coverage")


def pairwise_distances(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances between the rows of ``x`` and ``y`` (``x`` itself when None)."""
    x = np.asarray(x, dtype=np.float64)
    same = y is None
    y = x if y is None else np.asarray(y, dtype=np.float64)
    squared = (x * x).sum(axis=1)[:, None] + (y * y).sum(axis=1)[None, :] - 2.0 * (x @ y.T)
    np.maximum(squared, 0.0, out=squared)
    if same:
        np.fill_diagonal(squared, 0.0)  # as scikit-learn does: a point is at 0 from itself
    return np.sqrt(squared)


def kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest other row (the row itself is the 0-th)."""
    distances = pairwise_distances(features)
    return np.partition(distances, k, axis=1)[:, k]


def prdc(real: np.ndarray, fake: np.ndarray, k: int = DEFAULT_K) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` features.

    Raises:
        NumericalError: either side has ``k`` or fewer vectors (no k-th neighbour).
    """
    if len(real) <= k or len(fake) <= k:
        raise NumericalError(
            f"precision/recall/density/coverage with k = {k} need more than {k} vectors on "
            f"each side, got {len(real)} real and {len(fake)} generated"
        )
    real_radii = kth_neighbour_radii(real, k)
    fake_radii = kth_neighbour_radii(fake, k)
    real_fake = pairwise_distances(real, fake)
    inside_real = real_fake < real_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((real_fake < fake_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((real_fake.min(axis=1) < real_radii).mean()),
    }
