"""MiFID's memorisation distance, as Kaggle's kernel defines it."""

from __future__ import annotations

import numpy as np
import pytest

from harness.scoring.metrics.memorisation import FID_EPSILON, mifid, nearest_train, thresholded


def test_copies_of_training_features_are_at_distance_zero() -> None:
    rng = np.random.default_rng(0)
    train = rng.random((40, 32))
    picked = np.array([3, 17, 29])
    fake = train[picked] * np.array([[2.0], [0.5], [7.0]])  # cosine ignores the scale
    nearest = nearest_train(fake, train)
    assert nearest.mean == pytest.approx(0.0, abs=1e-12)
    assert nearest.train_index.tolist() == picked.tolist()
    assert (nearest.distance >= 0).all()


def test_distance_is_one_minus_the_absolute_cosine() -> None:
    train = np.array([[1.0, 0.0], [0.0, 1.0]])
    fake = np.array([[1.0, 1.0], [-1.0, 0.2]])
    nearest = nearest_train(fake, train)
    expected = [1 - 1 / np.sqrt(2), 1 - 1 / np.sqrt(1.04)]
    assert nearest.distance == pytest.approx(expected)
    assert nearest.train_index.tolist() == [0, 0]


def test_all_zero_features_are_left_out_as_kaggle_does() -> None:
    train = np.eye(3)
    fake = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    nearest = nearest_train(fake, train)
    assert nearest.fake_index.tolist() == [1] and nearest.mean == pytest.approx(0.0)


def test_mifid_penalises_only_below_the_threshold() -> None:
    assert thresholded(0.05, 0.1) == 0.05 and thresholded(0.2, 0.1) == 1.0
    assert mifid(100.0, 0.2, 0.1) == 100.0
    assert mifid(100.0, 0.05, 0.1) == pytest.approx(100.0 / 0.05)
    assert mifid(100.0, 0.0, 0.1) == pytest.approx(100.0 / FID_EPSILON)
