"""The test-leak rule on synthetic features: which samples count as held-out copies, and when a
submission is flagged."""

from __future__ import annotations

import numpy as np
import pytest

from harness.scoring.metrics.test_leak import DEFAULT_MIN_FRACTION, DEFAULT_THRESHOLD, check

DIMS = 64


def features(rng: np.random.Generator, n: int) -> np.ndarray:
    """Non-negative features like pool3's (after a ReLU and an average): two independent rows
    lie about 0.25 apart in ``1 - |cos|``, far above the threshold."""
    return rng.random((n, DIMS))


def near(rows: np.ndarray, rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
    """Slightly altered copies (as a flip or a JPEG round trip moves features)."""
    return rows * (1 + scale * rng.standard_normal(rows.shape))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def world(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Held-out features of 30 and 40 images, train features of 50 per class."""
    return {
        "heldout": [features(rng, 30), features(rng, 40)],
        "train": [features(rng, 50), features(rng, 50)],
    }


def test_held_out_copies_are_flagged_and_fresh_samples_are_not(
    world: dict, rng: np.random.Generator
) -> None:
    heldout, train = world["heldout"], world["train"]
    copies = [near(heldout[0][:20], rng), near(heldout[1][:20], rng)]
    found = check(copies, heldout, train)
    assert found.leaked and found.fraction == 1.0 and found.n_counted == 40
    # Each copy's nearest held-out image is its own source (rows of class 1 follow class 0's).
    assert list(found.nearest[0].train_index) == list(range(20))
    assert list(found.nearest[1].train_index) == list(range(30, 50))
    fresh = [features(rng, 20), features(rng, 20)]
    found = check(fresh, heldout, train)
    assert not found.leaked and found.n_counted == 0 and found.fraction == 0.0
    assert min(n.distance.min() for n in found.nearest) > DEFAULT_THRESHOLD


def test_train_copies_are_memorisation_not_a_test_leak(world: dict) -> None:
    heldout, train = world["heldout"], world["train"]
    copies = [train[0][:20].copy(), train[1][:20].copy()]
    assert not check(copies, heldout, train).leaked
    # A train image that also sits in the held-out set (a duplicate across the split) is still
    # nearer to (as near as) its train copy: memorisation, never counted as a held-out copy.
    heldout = [np.concatenate([heldout[0], train[0][:20]]), heldout[1]]
    found = check(copies, heldout, train)
    assert found.n_counted == 0 and not found.leaked
    # Without train features (memorisation not measured) the threshold alone decides.
    assert check(copies, heldout, None).n_counted == 20


def test_a_held_out_image_under_the_other_class_is_caught(
    world: dict, rng: np.random.Generator
) -> None:
    heldout, train = world["heldout"], world["train"]
    swapped = [near(heldout[1][:10], rng), near(heldout[0][:10], rng)]
    assert check(swapped, heldout, train).fraction == 1.0


def test_the_threshold_and_the_fraction_decide(world: dict, rng: np.random.Generator) -> None:
    heldout, train = world["heldout"], world["train"]
    # 1 held-out copy among 40 samples: counted, but under the fraction that flags.
    fakes = [np.concatenate([near(heldout[0][:1], rng), features(rng, 19)]), features(rng, 20)]
    found = check(fakes, heldout, train)
    assert found.n_counted == 1 and found.fraction == 1 / 40 < DEFAULT_MIN_FRACTION
    assert not found.leaked
    assert check(fakes, heldout, train, min_fraction=0.02).leaked
    # A copy moved further than the threshold no longer counts.
    far = [near(heldout[0][:10], rng, scale=0.6), near(heldout[1][:10], rng, scale=0.6)]
    distances = np.concatenate([n.distance for n in check(far, heldout, train).nearest])
    threshold = float(np.median(distances))
    found = check(far, heldout, train, threshold=threshold)
    assert found.n_counted == int((distances < threshold).sum()) and 0 < found.n_counted < 20


def test_all_zero_features_never_count_but_are_samples(
    world: dict, rng: np.random.Generator
) -> None:
    heldout, train = world["heldout"], world["train"]
    fakes = [np.concatenate([near(heldout[0][:5], rng), np.zeros((5, DIMS))]), features(rng, 10)]
    found = check(fakes, heldout, train)
    assert found.n_samples == 20 and found.n_counted == 5 and found.fraction == 0.25
    # The evidence holds the counted samples only, nearest first.
    evidence = found.evidence()
    assert len(evidence[0].distance) == 5 and len(evidence[1].distance) == 0
    assert list(evidence[0].fake_index) == [0, 1, 2, 3, 4]
