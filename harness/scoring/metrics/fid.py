"""FID, KID and a bootstrap interval, from features, in float64.

FID (Heusel et al. 2017) is the Fréchet distance between Gaussians fitted to Inception
features: ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``. :func:`frechet_distance` follows
pytorch-fid's ``calculate_frechet_distance`` step for step (the same matrix square root, the
same ``eps`` retry on a singular product, the same check of the imaginary part) without the
``disp`` argument that scipy 1.18 removed; a test holds the two equal to 1e-6.

FID is biased by sample size, so rows record N and comparisons are made at equal N. KID
(Bińkowski et al. 2018, polynomial-kernel MMD², unbiased) is computed beside it, and a
bootstrap over the generated samples gives an interval for a team's score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from harness.errors import NumericalError

IMAGINARY_TOLERANCE = 1e-3
KERNEL_CACHE_ENTRIES = 30_000_000  # float64 entries of whole-set kernel or Gram matrices kept


@dataclass(frozen=True)
class Statistics:
    """Mean ``[d]`` and covariance ``[d, d]`` (float64) of ``n`` feature vectors."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def statistics(features: np.ndarray) -> Statistics:
    """Mean and unbiased covariance of ``features`` ``[n, d]``, in float64, as pytorch-fid."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise NumericalError(f"need at least two feature vectors, got shape {features.shape}")
    return Statistics(features.mean(axis=0), np.cov(features, rowvar=False), len(features))


def frechet_distance(a: Statistics, b: Statistics, eps: float = 1e-6) -> float:
    """The Fréchet distance between two Gaussians (pytorch-fid's algorithm).

    Raises:
        NumericalError: shapes differ, or the matrix square root has an imaginary part larger
            than 1e-3 on its diagonal (the number would not be trustworthy).
    """
    mu1, mu2 = np.atleast_1d(a.mu), np.atleast_1d(b.mu)
    sigma1, sigma2 = np.atleast_2d(a.sigma), np.atleast_2d(b.sigma)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise NumericalError(f"statistics of different sizes: {mu1.shape} and {mu2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            warnings.warn(
                f"FID: singular covariance product; adding {eps} to the diagonals",
                RuntimeWarning,
                stacklevel=2,
            )
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAGINARY_TOLERANCE):
            largest = float(np.max(np.abs(covmean.imag)))
            raise NumericalError(
                f"FID matrix square root has an imaginary component of {largest:.3g}; "
                "the statistics are degenerate (too few or identical samples?)"
            )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def kid(
    fake: np.ndarray,
    real: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD² over random subsets.

    The kernel is ``k(x, y) = (x.y / d + 1)^3``. Each subset draws ``m = min(subset_size, n)``
    vectors from each side without replacement, from a generator seeded with ``seed``. When
    ``m`` covers both sets whole, the one exact value is returned and the std is NaN.

    The three kernel matrices of the whole sets are computed once and each subset reads its
    rows and columns from them (when they fit in about 240 MB): the same numbers as computing
    each subset's kernels afresh, at a tenth of the time for 100 subsets of 1,000.
    """
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    d = fake.shape[1]
    m = min(subset_size, len(fake), len(real))
    if m < 2:
        raise NumericalError("KID needs at least two samples on each side")
    if m == len(fake) == len(real):
        subsets = 1  # every subset would be the whole of both sets: one exact value, no spread
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    whole = len(fake) ** 2 + len(real) ** 2 + len(fake) * len(real) <= KERNEL_CACHE_ENTRIES
    if whole:
        kxx_all = (fake @ fake.T / d + 1) ** 3
        kyy_all = (real @ real.T / d + 1) ** 3
        kxy_all = (fake @ real.T / d + 1) ** 3
    for i in range(subsets):
        a = rng.choice(len(fake), m, replace=False)
        b = rng.choice(len(real), m, replace=False)
        if whole:
            kxx, kyy, kxy = kxx_all[np.ix_(a, a)], kyy_all[np.ix_(b, b)], kxy_all[np.ix_(a, b)]
        else:
            x, y = fake[a], real[b]
            kxx = (x @ x.T / d + 1) ** 3
            kyy = (y @ y.T / d + 1) ** 3
            kxy = (x @ y.T / d + 1) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[i] = within - 2 * kxy.mean()
    return float(values.mean()), float(values.std()) if subsets > 1 else float("nan")


class FastFrechet:
    """Fréchet distances of many feature sets against one fixed reference, for the bootstrap.

    With ``A = S_ref^(1/2)`` (symmetric, from ``eigh``) and centred fake features ``X``
    (``n x d``), ``tr (S_ref S_fake)^(1/2) = tr (A S_fake A)^(1/2)``, whose eigenvalues are those
    of the ``n x n`` matrix ``(XA)(XA)^T / (n - 1)`` (or of the ``d x d`` one, whichever is
    smaller). Each replicate then costs one symmetric eigendecomposition instead of a
    general matrix square root. It is exact
    (no approximation), and agrees with :func:`frechet_distance` to numerical precision.
    """

    def __init__(self, reference: Statistics) -> None:
        values, vectors = np.linalg.eigh(reference.sigma)
        self.root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
        self.mu = np.asarray(reference.mu, np.float64)
        self.trace_ref = float(np.trace(reference.sigma))

    @classmethod
    def of_features(cls, real: np.ndarray) -> FastFrechet:
        """The reference given by its feature vectors ``real`` (``n x d``), for a part of the
        test set: any ``B`` with ``B B^T = S_ref`` gives the same eigenvalues as ``S_ref^(1/2)``,
        and ``B = X^T / sqrt(n - 1)`` (centred reals) needs neither a covariance nor an
        ``eigh`` at 2,048 dims, and projects the fakes onto ``n`` columns instead of ``d``."""
        real = np.asarray(real, np.float64)
        if len(real) < 2:
            raise NumericalError(f"FID needs at least two real images, got {len(real)}")
        out = cls.__new__(cls)
        out.mu = real.mean(axis=0)
        centred = real - out.mu
        out.root = centred.T / np.sqrt(len(real) - 1)
        out.trace_ref = float((centred * centred).sum() / (len(real) - 1))
        return out

    def project(self, features: np.ndarray) -> np.ndarray:
        """Features times ``S_ref^(1/2)``; compute once, then index rows per replicate."""
        return np.asarray(features, np.float64) @ self.root

    def distance(self, features: np.ndarray, projected: np.ndarray) -> float:
        """FID of ``features`` (rows matching ``projected``) against the reference."""
        n = len(features)
        mu = features.mean(axis=0)
        centred = features - mu
        y = projected - projected.mean(axis=0)
        # (y y^T) and (y^T y) share their non-zero eigenvalues: decompose the smaller one.
        gram = y @ y.T if n <= y.shape[1] else y.T @ y
        eig = np.linalg.eigvalsh(gram / (n - 1))
        trace_fake = float((centred * centred).sum() / (n - 1))
        diff = mu - self.mu
        return float(
            diff @ diff + self.trace_ref + trace_fake - 2 * np.sqrt(np.clip(eig, 0, None)).sum()
        )


def centred_interval(
    estimate: float, replicates: np.ndarray, level: float = 0.95
) -> tuple[float, float]:
    """A bootstrap interval around ``estimate`` built from the replicates' spread alone.

    Resampling with replacement repeats images, and repeated images raise FID (for 1,000
    samples per class by about 5 points of a summed score near 530, measured on team2), so the
    replicates sit above the estimate and a plain percentile interval can miss it altogether.
    The spread is what tells whether two teams differ; it is centred here on the estimate:
    ``[estimate + q_low(r - mean r), estimate + q_high(r - mean r)]``.
    """
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(replicates - replicates.mean(), [tail, 100 - tail])
    return float(estimate + low), float(estimate + high)


def bootstrap_score(
    fakes: Sequence[np.ndarray],
    references: Sequence[Statistics | FastFrechet],
    *,
    replicates: int,
    seed: int = 0,
    progress: str | None = None,
) -> np.ndarray:
    """Bootstrap replicates of a summed FID score, resampling each class's fakes with replacement.

    The real statistics stay fixed: every team is compared against the same reals, so the
    interval describes how much a team's score moves with its own sampling. A reference may be
    given ready-made (:meth:`FastFrechet.of_features`, for a part of the test set).
    ``progress``, when given, labels a progress bar on stderr (one step per replicate and class).
    """
    import sys

    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    total = np.zeros(replicates)
    bar = tqdm(
        total=replicates * len(fakes),
        desc=progress or "bootstrap",
        unit="replicate",
        file=sys.stderr,
        disable=progress is None,
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
    )
    with bar:
        for features, reference in zip(fakes, references, strict=True):
            fast = reference if isinstance(reference, FastFrechet) else FastFrechet(reference)
            features = np.asarray(features, np.float64)
            projected = fast.project(features)
            resampled = _ResampledFrechet(fast, features, projected)
            for r in range(replicates):
                idx = rng.integers(0, len(features), len(features))
                total[r] += resampled.distance(idx)
                bar.update(1)
    return total


class _ResampledFrechet:
    """:meth:`FastFrechet.distance` of ``features[idx]`` for many resamplings ``idx``, cheaply.

    A resample with replacement holds about 63% of the rows, some several times. Its centred
    projected rows ``Y`` (with repeats) have ``Y^T Y = Z^T W Z``, where ``Z`` are the distinct
    rows centred on the resample's mean and ``W`` their counts; so the eigenvalues needed are
    those of the ``u x u`` matrix ``W^(1/2) Z Z^T W^(1/2)`` over the ``u`` distinct rows, and
    ``Z Z^T`` follows from the Gram matrix of all projected rows, computed once. Per replicate
    that is an eigendecomposition of about 630 x 630 instead of a 1,000-row product and a
    1,000 x 1,000 eigendecomposition: the same numbers (a test holds them to 1e-7) several
    times faster.
    """

    def __init__(self, fast: FastFrechet, features: np.ndarray, projected: np.ndarray) -> None:
        self.fast = fast
        self.features = features
        self.projected = projected
        self.squares = (features * features).sum(axis=1)
        n = len(features)
        self.gram = projected @ projected.T if n * n <= KERNEL_CACHE_ENTRIES else None

    def distance(self, idx: np.ndarray) -> float:
        n, d = self.projected.shape
        if self.gram is None:
            return self.fast.distance(self.features[idx], self.projected[idx])
        rows, counts = np.unique(idx, return_counts=True)
        w = counts.astype(np.float64)
        mu = w @ self.features[rows] / n
        trace_fake = float((w @ self.squares[rows] - n * (mu @ mu)) / (n - 1))
        if len(rows) <= d:
            g = self.gram[np.ix_(rows, rows)]
            dots = g @ w / n  # each distinct row's dot product with the resample's mean
            centred = g - dots[:, None] - dots[None, :] + (w @ dots) / n
            root_w = np.sqrt(w)
            eig = np.linalg.eigvalsh(root_w[:, None] * centred * root_w[None, :] / (n - 1))
        else:
            p = self.projected[rows]
            mean = w @ p / n
            scatter = (p * w[:, None]).T @ p - n * np.outer(mean, mean)
            eig = np.linalg.eigvalsh(scatter / (n - 1))
        diff = mu - self.fast.mu
        return float(
            diff @ diff
            + self.fast.trace_ref
            + trace_fake
            - 2 * np.sqrt(np.clip(eig, 0, None)).sum()
        )
