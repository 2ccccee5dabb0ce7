"""harness.data.transport: a split packed here unpacks there to the same arrays, under the
original fingerprint, and a damaged pack is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness.data import cache, layout, transport
from harness.errors import DataError


def test_a_pack_unpacks_to_the_same_arrays_under_the_original_fingerprint(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = cache.cached_split(tiny_data, "train", 16, progress=False)
    packed = transport.pack_split(tiny_data, "train", 16, tmp_path / "train.npz")
    assert packed["count"] == len(here.labels) and packed["reused"] is False
    again = transport.pack_split(tiny_data, "train", 16, tmp_path / "train.npz")
    assert again["reused"] is True

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "elsewhere-cache"))
    there = transport.unpack_split(tmp_path / "train.npz", tmp_path / "elsewhere")
    assert np.array_equal(there.images, here.images)
    assert np.array_equal(there.labels, here.labels)
    assert there.folder.parent.parent == tmp_path / "elsewhere-cache"
    fingerprint = layout.split_fingerprint(tmp_path / "elsewhere", "train")
    assert fingerprint == layout.split_fingerprint(tiny_data, "train")
    names = sorted(p.name for p in (tmp_path / "elsewhere" / "train" / "with_mask").iterdir())
    assert names == sorted(p.name for p in (tiny_data / "train" / "with_mask").iterdir())


def test_a_pack_whose_images_changed_is_refused(tiny_data: Path, tmp_path: Path) -> None:
    transport.pack_split(tiny_data, "train", 16, tmp_path / "train.npz")
    with np.load(tmp_path / "train.npz") as archive:
        parts = dict(archive)
    record = json.loads(parts["record_json"].tobytes())
    record["cache_meta"]["sha256"] = "0" * 64  # as if a different image had been packed
    parts["record_json"] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **parts)
    with pytest.raises(DataError, match="does not decode to the arrays it was made from"):
        transport.unpack_split(tmp_path / "bad.npz", tmp_path / "there")
    (tmp_path / "junk.npz").write_bytes(os.urandom(100))
    with pytest.raises(DataError, match="is not a split pack"):
        transport.unpack_split(tmp_path / "junk.npz", tmp_path / "there")
