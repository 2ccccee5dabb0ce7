"""Memorisation-informed FID (MiFID), as Kaggle computed it for "Generative Dog Images".

In that competition (2019) notebooks that returned training images almost verbatim topped the
public board; Kaggle's answer was to divide FID by a memorisation distance. On the same
Inception pool3 features as FID, per generated image, the cosine distance to its nearest
training image is ``1 - |cos(f_fake, f_train)|``; ``d`` is the mean of those minima over the
generated images. Below a threshold ``eps`` (0.1) the submission counts as memorising and
``d`` divides the FID; above it, nothing changes::

    d_thr = d if d < eps else 1
    MiFID = FID / (d_thr + 1e-14)

The ``1e-14`` (``fid_epsilon = 10e-15`` in Kaggle's kernel) keeps an exact copy (``d = 0``)
finite but enormous. As in Kaggle's kernel, all-zero feature vectors are left out (their
cosine is undefined). Reference: Bai et al., "On Training Sample Memorization: Lessons from
Benchmarking Generative Modeling with a Large-scale Competition", KDD 2021.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.errors import NumericalError

DEFAULT_EPS = 0.1
FID_EPSILON = 10e-15  # Kaggle's kernel
CHUNK = 1024


@dataclass(frozen=True)
class Nearest:
    """Per generated image (all-zero features left out): the cosine distance to its nearest
    train image, that image's row in the train features, and the generated image's own row."""

    distance: np.ndarray
    train_index: np.ndarray
    fake_index: np.ndarray

    @property
    def mean(self) -> float:
        """``d``: the mean over generated images of the distance to the nearest train image."""
        return float(self.distance.mean())

    def closest(self, k: int) -> np.ndarray:
        """Positions (into this record) of the ``k`` generated images nearest to a train image."""
        return np.argsort(self.distance, kind="stable")[:k]


def _unit_rows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(features, axis=1)
    keep = norms > 0
    return features[keep] / norms[keep, None], np.flatnonzero(keep)


def nearest_train(fake: np.ndarray, train: np.ndarray) -> Nearest:
    """Cosine distance ``1 - |cos|`` from each generated feature to its nearest train feature.

    Rows are compared in chunks, so 1,000 fakes against 5,000 train images of 2,048 dims need
    a few tens of MB, not a full distance matrix.

    Raises:
        NumericalError: no non-zero feature vector on one side.
    """
    f, fake_index = _unit_rows(fake)
    t, train_rows = _unit_rows(train)
    if not len(f) or not len(t):
        raise NumericalError("memorisation needs non-zero features on both sides")
    distance = np.empty(len(f))
    train_index = np.empty(len(f), dtype=np.int64)
    for start in range(0, len(f), CHUNK):
        similarity = np.abs(f[start : start + CHUNK] @ t.T)
        best = similarity.argmax(axis=1)
        train_index[start : start + len(best)] = train_rows[best]
        distance[start : start + len(best)] = 1.0 - similarity[np.arange(len(best)), best]
    # Rounding gives -1e-16 for identical vectors; a distance is never negative.
    return Nearest(np.clip(distance, 0.0, None), train_index, fake_index)


def thresholded(d: float, eps: float = DEFAULT_EPS) -> float:
    """``d`` when it is below ``eps`` (memorising), else 1 (no penalty)."""
    return d if d < eps else 1.0


def mifid(fid: float, d: float, eps: float = DEFAULT_EPS) -> float:
    """Kaggle's MiFID, ``fid / (d_thr + 1e-14)`` when ``d < eps``; exactly ``fid`` otherwise
    (Kaggle's formula would divide by ``1 + 1e-14``, a change in the 14th digit)."""
    if d >= eps:
        return float(fid)
    return float(fid) / (d + FID_EPSILON)
