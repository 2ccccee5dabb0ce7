"""Decoded-split caches are checked against the digest recorded when they were written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data import cache as data_cache
from harness.errors import DataError


def test_a_cache_changed_after_it_was_written_is_rebuilt(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = data_cache.cached_split(tiny_data, "test", 16, progress=False)
    expected = np.array(original.images)
    images = np.load(original.folder / "images.npy", mmap_mode="r+")
    images[0] = 255 - images[0]  # same shape and dtype: only the digest can tell
    images.flush()
    del images
    with pytest.raises(DataError, match="fails its hash check"):
        data_cache.load_arrays(original.folder, verify=True)
    again = data_cache.cached_split(tiny_data, "test", 16, progress=False)
    assert "fails its hash check; rebuilding it" in capsys.readouterr().err
    assert np.array_equal(again.images, expected)


def test_an_intact_cache_is_reused_without_a_message(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = data_cache.cached_split(tiny_data, "train", 16, progress=False)
    capsys.readouterr()
    again = data_cache.cached_split(tiny_data, "train", 16, progress=False)
    assert again.folder == first.folder and capsys.readouterr().err == ""
