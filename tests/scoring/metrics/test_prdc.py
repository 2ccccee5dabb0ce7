"""Precision, recall, density and coverage against the authors' reference code (PyPI prdc)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import NumericalError
from harness.scoring.metrics.prdc import pairwise_distances, prdc

reference = pytest.importorskip("prdc", reason="prdc is a test dependency (pip install -e .[dev])")


@pytest.mark.parametrize(
    ("n_real", "n_fake", "dims", "k", "shift"),
    [(200, 150, 64, 5, 0.0), (120, 300, 32, 3, 0.1), (80, 80, 2048, 5, 0.01)],
)
def test_equals_the_reference_implementation(
    n_real: int, n_fake: int, dims: int, k: int, shift: float
) -> None:
    rng = np.random.default_rng(n_real + k)
    centres = rng.normal(size=(6, dims))  # clustered, as image features are
    real = centres[rng.integers(0, 6, n_real)] + 0.3 * rng.normal(size=(n_real, dims))
    fake = centres[rng.integers(0, 4, n_fake)] + (0.3 + shift) * rng.normal(size=(n_fake, dims))
    expected = reference.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    ours = prdc(real, fake, k)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(float(value), abs=1e-12), key
    # Not a trivial case: the ball tests split the points (neither all 0 nor all 1).
    assert 0 < ours["precision"] < 1 and 0 < ours["coverage"] < 1


def test_fakes_equal_to_the_reals_are_perfect() -> None:
    real = np.random.default_rng(0).normal(size=(50, 16))
    values = prdc(real, real.copy(), 5)
    assert values["precision"] == values["recall"] == values["coverage"] == 1.0


def test_distances_match_a_direct_computation() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    direct = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    assert np.allclose(pairwise_distances(x, y), direct)
    assert np.all(np.diag(pairwise_distances(x)) == 0)


def test_too_few_vectors_is_named() -> None:
    with pytest.raises(NumericalError, match="more than 5 vectors on each side, got 5 real"):
        prdc(np.zeros((5, 3)), np.ones((10, 3)), 5)
