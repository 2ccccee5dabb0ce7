"""Cached real statistics are checked against the digest stored with them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.scoring.metrics import reference


class CountingExtractor:
    """Features without a network: the mean colour, repeated, so FID has something to chew."""

    name = "fake-extractor"
    dims = 4
    weights = SimpleNamespace(sha256="0" * 64)

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, images: np.ndarray, progress: str | None = None) -> np.ndarray:
        self.calls += 1
        means = images.reshape(len(images), -1, 3).mean(axis=1).astype(np.float64)
        return np.concatenate([means, means[:, :1] ** 2], axis=1)


def test_statistics_changed_after_they_were_written_are_recomputed(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extractor = CountingExtractor()
    first = reference.class_reference(tiny_data, 0, 16, extractor)  # type: ignore[arg-type]
    again = reference.class_reference(tiny_data, 0, 16, extractor)  # type: ignore[arg-type]
    assert extractor.calls == 1 and np.array_equal(again.stats.mu, first.stats.mu)
    path = next(Path(reference._folder("test")).glob(f"{first.digest}.npz"))
    with np.load(path) as archive:
        stored = dict(archive)
    np.savez(path, **{**stored, "mu": stored["mu"] + 100.0})  # the old digest, new numbers
    capsys.readouterr()
    recomputed = reference.class_reference(tiny_data, 0, 16, extractor)  # type: ignore[arg-type]
    assert extractor.calls == 2, "the altered file was not trusted"
    assert "fails its hash check; recomputing" in capsys.readouterr().err
    assert np.array_equal(recomputed.stats.mu, first.stats.mu)
    assert json.loads(str(np.load(path)["key"])) == first.key
