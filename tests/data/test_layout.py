"""The dataset layout checks, import, fingerprints and the uint8 cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.data import cache as data_cache
from harness.data import layout
from harness.data.resize import resize_square
from harness.errors import DataError


def copy_data(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def test_list_split_counts_each_class(tiny_data: Path) -> None:
    files = layout.list_split(tiny_data, "train")
    assert (files.count(0), files.count(1)) == (24, 24)
    assert all(p.parent.name == "with_mask" for p in files.files[0])


def test_missing_class_folder_is_named(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "d")
    shutil.rmtree(root / "test" / "without_mask")
    with pytest.raises(DataError, match=r"missing folder .*test/without_mask"):
        layout.list_split(root, "test")


def test_empty_class_folder_is_named(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "d")
    for f in (root / "train" / "with_mask").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"no .png/.jpg images in .*train/with_mask"):
        layout.list_split(root, "train")


def test_missing_data_folder_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"pass --data PATH, or say it once with `harness config set data PATH`"
    ):
        layout.list_split(tmp_path / "nowhere", "train")


def test_import_names_unreadable_file(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "src")
    bad = root / "train" / "with_mask" / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"broken\.png"):
        layout.import_dataset(root, tmp_path / "dest")
    assert not (tmp_path / "dest").exists(), "nothing is copied when any image is unreadable"


def test_import_converts_rgba_and_grayscale(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "src")
    Image.new("RGBA", (20, 20), (10, 20, 30, 128)).save(root / "train" / "with_mask" / "alpha.png")
    Image.new("L", (20, 20), 77).save(root / "test" / "without_mask" / "gray.jpg")
    report = layout.import_dataset(root, tmp_path / "dest")
    assert any("alpha.png (RGBA -> RGB)" in line for line in report.converted)
    assert any("gray.jpg (L -> RGB)" in line for line in report.converted)
    with Image.open(tmp_path / "dest" / "test" / "without_mask" / "gray.png") as img:
        assert img.mode == "RGB"
    assert layout.list_split(tmp_path / "dest", "train").count(0) == 25


def test_import_refuses_to_overwrite(tiny_data: Path, tmp_path: Path) -> None:
    layout.import_dataset(tiny_data, tmp_path / "dest")
    with pytest.raises(DataError, match="--overwrite"):
        layout.import_dataset(tiny_data, tmp_path / "dest")
    layout.import_dataset(tiny_data, tmp_path / "dest", overwrite=True)


def test_fingerprint_follows_content(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "d")
    before = layout.split_fingerprint(root, "train")
    assert before == layout.split_fingerprint(tiny_data, "train"), "same content, same fingerprint"
    test_before = layout.split_fingerprint(root, "test")
    Image.new("RGB", (32, 32), (1, 2, 3)).save(
        root / "train" / "with_mask" / "demo-train-0-00000.png"
    )
    assert layout.split_fingerprint(root, "train") != before
    assert layout.split_fingerprint(root, "test") == test_before


def test_cache_holds_resized_uint8_and_is_reused(
    tiny_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = data_cache.cached_split(tiny_data, "test", 16, progress=False)
    assert arrays.images.shape == (24, 16, 16, 3) and arrays.images.dtype == np.uint8
    assert arrays.labels.tolist() == [0] * 12 + [1] * 12
    first = layout.list_split(tiny_data, "test").files[0][0]
    expected = resize_square(layout.read_rgb(first)[0], 16)
    assert np.array_equal(arrays.images[0], expected), "reals are resized, never augmented"

    def fail(*_: object) -> None:
        raise AssertionError("a cached split must not decode PNGs again")

    monkeypatch.setattr(layout, "read_rgb", fail)
    again = data_cache.cached_split(tiny_data, "test", 16, progress=False)
    assert again.folder == arrays.folder


def test_cache_is_rebuilt_when_an_image_changes(tiny_data: Path, tmp_path: Path) -> None:
    root = copy_data(tiny_data, tmp_path / "d")
    old = data_cache.cached_split(root, "train", 16, progress=False)
    Image.new("RGB", (32, 32), (250, 0, 0)).save(
        root / "train" / "with_mask" / "demo-train-0-00000.png"
    )
    new = data_cache.cached_split(root, "train", 16, progress=False)
    assert new.folder != old.folder
    assert (np.asarray(new.images[0]) == [250, 0, 0]).all()


def test_validation_subset_is_carved_from_train_only(tiny_data: Path) -> None:
    fit = data_cache.cached_split(tiny_data, "train", 16, subset="fit", progress=False)
    val = data_cache.cached_split(tiny_data, "train", 16, subset="val", progress=False)
    assert len(fit.labels) + len(val.labels) == 48 and len(val.labels) > 0
    with pytest.raises(DataError, match="test stays held out"):
        data_cache.cached_split(tiny_data, "test", 16, subset="val")


def test_test_split_caches_live_apart_from_train(tiny_data: Path) -> None:
    train = data_cache.cached_split(tiny_data, "train", 16, progress=False)
    test = data_cache.cached_split(tiny_data, "test", 16, progress=False)
    heldout = data_cache.heldout_cache_root()
    assert test.folder.parent == heldout
    assert heldout not in train.folder.parents


def test_cli_data_info_and_bad_folder(
    tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", "--data", str(tiny_data)])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "24 with_mask, 24 without_mask" in out and "DEMO" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", "--data", str(tmp_path / "missing")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: data folder") and err.count("\n") == 1
