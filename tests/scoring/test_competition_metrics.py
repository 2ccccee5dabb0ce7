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
