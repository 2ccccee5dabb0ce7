"""FID, KID and bootstrap maths, against pytorch-fid's own function and analytic cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy
from pytorch_fid import fid_score

from harness.errors import NumericalError
from harness.scoring.metrics.fid import (
    FastFrechet,
    Statistics,
    bootstrap_score,
    centred_interval,
    frechet_distance,
    kid,
    statistics,
)


@pytest.fixture
def reference_fid(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """pytorch-fid's calculate_frechet_distance, usable with scipy >= 1.18 (no `disp`)."""
    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (1, 18):
        sqrtm = fid_score.linalg.sqrtm

        def with_disp(a, disp=True):  # type: ignore[no-untyped-def]
            root = sqrtm(a)
            return (root, 0.0) if disp is False else root

        monkeypatch.setattr(fid_score.linalg, "sqrtm", with_disp)
    return fid_score.calculate_frechet_distance


def features(
    rng: np.random.Generator, n: int, d: int, shift: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return (rng.normal(size=(n, d)) @ mixing) * scale + shift


@pytest.mark.parametrize(
    ("n", "d"), [(500, 16), (200, 64), (40, 64)], ids=["full-rank", "wide", "singular"]
)
def test_frechet_distance_equals_pytorch_fid(reference_fid, n: int, d: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(n + d)
    a = statistics(features(rng, n, d))
    b = statistics(features(rng, n, d, shift=0.3, scale=1.2))
    ours = frechet_distance(a, b)
    theirs = reference_fid(a.mu, a.sigma, b.mu, b.sigma)
    assert ours == pytest.approx(theirs, abs=1e-6, rel=1e-9)


def test_equal_covariances_give_squared_mean_distance() -> None:
    sigma = np.diag([1.0, 2.0, 3.0])
    a = Statistics(np.zeros(3), sigma, 10)
    b = Statistics(np.array([1.0, 2.0, 2.0]), sigma, 10)
    assert frechet_distance(a, b) == pytest.approx(9.0, abs=1e-9)


def test_identical_sets_give_zero() -> None:
    x = features(np.random.default_rng(1), 300, 32)
    assert frechet_distance(statistics(x), statistics(x.copy())) == pytest.approx(0.0, abs=1e-6)


def test_statistics_are_float64_and_unbiased() -> None:
    x = features(np.random.default_rng(2), 100, 8).astype(np.float32)
    stats = statistics(x)
    assert stats.mu.dtype == np.float64 and stats.sigma.dtype == np.float64 and stats.n == 100
    np.testing.assert_allclose(stats.sigma, np.cov(x.astype(np.float64), rowvar=False))


def test_large_imaginary_part_is_an_error() -> None:
    bad = Statistics(np.zeros(2), np.array([[1.0, 0.0], [0.0, -4.0]]), 2)
    good = Statistics(np.zeros(2), np.eye(2), 2)
    with pytest.raises(NumericalError, match="imaginary component"):
        frechet_distance(bad, good)


def test_mismatched_dims_are_an_error() -> None:
    with pytest.raises(NumericalError, match="different sizes"):
        frechet_distance(
            Statistics(np.zeros(2), np.eye(2), 2), Statistics(np.zeros(3), np.eye(3), 3)
        )


@pytest.mark.parametrize(("n", "d"), [(300, 16), (50, 128)], ids=["n>d", "n<d"])
def test_fast_bootstrap_distance_equals_exact(n: int, d: int) -> None:
    rng = np.random.default_rng(3)
    real = statistics(features(rng, 400, d))
    fake = features(rng, n, d, shift=0.2)
    fast = FastFrechet(real)
    assert fast.distance(fake, fast.project(fake)) == pytest.approx(
        frechet_distance(statistics(fake), real), rel=1e-6
    )


def test_bootstrap_interval_brackets_the_score() -> None:
    rng = np.random.default_rng(4)
    refs = [statistics(features(rng, 400, 16)), statistics(features(rng, 400, 16, shift=1.0))]
    fakes = [features(rng, 200, 16, shift=0.1), features(rng, 200, 16, shift=0.8)]
    score = sum(frechet_distance(statistics(f), r) for f, r in zip(fakes, refs, strict=True))
    replicates = bootstrap_score(fakes, refs, replicates=200, seed=0)
    assert replicates.mean() > score, "repeated samples raise FID: the replicates sit above"
    low, high = centred_interval(score, replicates)
    assert low < score < high
    spread = np.percentile(replicates, 97.5) - np.percentile(replicates, 2.5)
    assert high - low == pytest.approx(spread)
    assert np.array_equal(replicates, bootstrap_score(fakes, refs, replicates=200, seed=0)), (
        "seeded"
    )


def test_bootstrap_shows_a_progress_bar_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(4)
    refs = [statistics(features(rng, 100, 8)), statistics(features(rng, 100, 8))]
    fakes = [features(rng, 50, 8), features(rng, 50, 8)]
    quiet = bootstrap_score(fakes, refs, replicates=7, seed=0)
    assert capsys.readouterr().err == ""
    shown = bootstrap_score(fakes, refs, replicates=7, seed=0, progress="team9 bootstrap")
    err = capsys.readouterr().err
    assert "team9 bootstrap" in err and "14/14" in err
    assert np.array_equal(quiet, shown), "the bar changes nothing"


def test_kid_is_near_zero_for_one_distribution_and_positive_otherwise() -> None:
    pool = np.abs(features(np.random.default_rng(5), 800, 32))
    same_a, same_b = pool[:400], pool[400:]
    other = same_b + 0.5
    near, spread = kid(same_a, same_b, subsets=20, subset_size=200)
    far, _ = kid(same_a, other, subsets=20, subset_size=200)
    assert abs(near) < 3 * spread + 1e-3 and far > 10 * abs(near)


def test_kid_with_whole_sets_is_exact() -> None:
    rng = np.random.default_rng(6)
    a, b = features(rng, 50, 8), features(rng, 50, 8)
    mean, std = kid(a, b, subset_size=1000)
    assert np.isnan(std) and mean == pytest.approx(kid(a, b, subset_size=1000, seed=9)[0], rel=1e-9)


def _kid_per_subset(fake, real, *, subsets, subset_size, seed):  # type: ignore[no-untyped-def]
    """The former KID loop, each subset's kernels computed afresh: the oracle for the cache."""
    d, m = fake.shape[1], min(subset_size, len(fake), len(real))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(within - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def test_kid_from_whole_set_kernels_equals_kernels_per_subset() -> None:
    rng = np.random.default_rng(7)
    fake, real = np.abs(features(rng, 120, 24)), np.abs(features(rng, 90, 24, shift=0.3))
    expected = _kid_per_subset(fake, real, subsets=15, subset_size=60, seed=3)
    assert kid(fake, real, subsets=15, subset_size=60, seed=3) == pytest.approx(expected, rel=1e-9)


def _bootstrap_with_repeats(fakes, references, *, replicates, seed):  # type: ignore[no-untyped-def]
    """The former bootstrap: every replicate's rows, repeats included: the oracle."""
    rng = np.random.default_rng(seed)
    total = np.zeros(replicates)
    for f, reference in zip(fakes, references, strict=True):
        fast = FastFrechet(reference)
        projected = fast.project(f)
        for r in range(replicates):
            idx = rng.integers(0, len(f), len(f))
            total[r] += fast.distance(f[idx], projected[idx])
    return total


@pytest.mark.parametrize(("n", "d"), [(60, 128), (300, 16)], ids=["distinct<d", "distinct>d"])
def test_bootstrap_over_distinct_rows_equals_the_bootstrap_with_repeats(n: int, d: int) -> None:
    rng = np.random.default_rng(8)
    refs = [statistics(features(rng, 200, d)), statistics(features(rng, 200, d, shift=0.5))]
    fakes = [features(rng, n, d, shift=0.1), features(rng, n, d, shift=0.4)]
    expected = _bootstrap_with_repeats(fakes, refs, replicates=25, seed=2)
    got = bootstrap_score(fakes, refs, replicates=25, seed=2)
    assert got == pytest.approx(expected, rel=1e-7)  # centring through the Gram rounds a little
