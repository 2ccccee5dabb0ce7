"""The competition's columns computed from given features (no Inception, no files)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.scoring.competition_metrics import CompetitionMetrics, Options, part_fids
from harness.scoring.metrics.fid import frechet_distance, statistics


def test_part_fids_equal_the_plain_frechet_distance() -> None:
    rng = np.random.default_rng(0)
    fake = rng.normal(size=(40, 24))
    real = rng.normal(loc=0.3, size=(30, 24))
    mask = rng.random(30) < 0.5
    got = part_fids(fake, real, [mask, ~mask])
    for value, part in zip(got, (real[mask], real[~mask]), strict=True):
        assert value == pytest.approx(
            frechet_distance(statistics(fake), statistics(part)), rel=1e-6
        )


def test_too_few_samples_for_prdc_leave_its_columns_blank_and_say_so(tmp_path: Path) -> None:
    said: list[str] = []
    metrics = CompetitionMetrics(
        tmp_path,
        extractor=lambda: None,
        options=Options(public_private=False, memorisation=False, k=5),
        say=said.append,
    )
    rng = np.random.default_rng(1)
    references = [SimpleNamespace(features=rng.normal(size=(20, 8))) for _ in range(2)]
    row = metrics.columns("t", None, [rng.normal(size=(4, 8))] * 2, references, [1.0, 2.0])
    assert not [key for key in row if key.startswith(("precision", "coverage"))]
    assert any(
        "no precision/recall/density/coverage" in m and "got 20 real and 4" in m for m in said
    )
    row = metrics.columns("t", None, [rng.normal(size=(9, 8))] * 2, references, [1.0, 2.0])
    assert 0 <= row["coverage_with_mask"] <= 1 and row["prdc_k"] == 5


def test_a_part_given_by_its_features_is_the_plain_frechet_distance() -> None:
    """The per-part interval's reference (no 2,048-dim covariance) measures the same FID."""
    from harness.scoring.metrics.fid import FastFrechet

    rng = np.random.default_rng(2)
    fake = rng.normal(size=(50, 30))
    part = rng.normal(loc=0.2, size=(20, 30))
    fast = FastFrechet.of_features(part)
    assert fast.distance(fake, fast.project(fake)) == pytest.approx(
        frechet_distance(statistics(fake), statistics(part)), rel=1e-8
    )


class _Split:
    digest = "s1"

    def public_mask(self, c: int, names: list[str]) -> np.ndarray:
        return np.arange(len(names)) % 2 == 0


def test_each_part_gets_its_own_kid_interval_and_prdc(tmp_path: Path) -> None:
    """With a split, every figure that compares fakes with test reals exists for each part,
    and each part's interval holds that part's score (the boards show nothing else)."""
    rng = np.random.default_rng(3)
    metrics = CompetitionMetrics(
        tmp_path,
        extractor=lambda: None,
        options=Options(
            memorisation=False,
            k=3,
            bootstrap=20,
            kid_subsets=5,
            kid_subset_size=10,
            leak_threshold=0.0,  # random features sit near each other; no test leak here
        ),
        say=lambda _m: None,
    )
    metrics._split, metrics._split_loaded = _Split(), True
    metrics.test_names = lambda: [[f"{c}-{i}.png" for i in range(24)] for c in range(2)]  # type: ignore[method-assign]
    references = [SimpleNamespace(features=rng.normal(size=(24, 6))) for _ in range(2)]
    fakes = [rng.normal(loc=0.4, size=(30, 6)) for _ in range(2)]
    row = metrics.columns("t", None, fakes, references, [1.0, 2.0])
    for part in ("public", "private"):
        low, high = row[f"score_{part}_ci_low"], row[f"score_{part}_ci_high"]
        assert low < row[f"score_{part}"] < high
        for name in ("with_mask", "without_mask"):
            for key in ("kid", "precision", "recall", "density", "coverage"):
                assert np.isfinite(row[f"{key}_{part}_{name}"]), (key, part)
    assert row["kid_public_with_mask"] != row["kid_private_with_mask"]
    assert row["density_public_with_mask"] != row["density_private_with_mask"]
