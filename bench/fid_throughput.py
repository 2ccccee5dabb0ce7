"""Feature extraction of the harness vs pytorch-fid on the same 2,000 64 x 64 PNGs, one device.

Both sides start from the same PNG files (1,000 per class from the face-mask train split, resized
to 64 x 64 with the harness resizer, or random images without data) and the same weights file
(pytorch-fid is pointed at it through a private TORCH_HOME, so nothing is downloaded):

- pytorch-fid: ``pytorch_fid.fid_score.get_activations`` (what ``python -m pytorch_fid`` runs),
  its DataLoader decoding the PNGs, its model as released;
- harness: ``harness.scoring.metrics.sources.load_images`` then ``InceptionFeatures`` (batch norm and
  input scaling folded, channels_last, inference mode).

It reports images/s of each (PNG decoding included), their ratio and |FID difference|.

    python bench/fid_throughput.py --data ../shared/facemask [--device cpu] [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def write_pngs(folder: Path, images: np.ndarray) -> None:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=None, help="dataset folder (else random images)"
    )
    parser.add_argument("--n", type=int, default=1000, help="images per folder (two folders)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(measure(args.data, args.n, args.device, args.batch_size), indent=2))


def measure(
    data: Path | None, n: int = 1000, device_name: str = "cpu", batch_size: int = 50
) -> dict:
    """Time both sides on the same PNGs and return the report (see the module docstring)."""
    args = argparse.Namespace(data=data, n=n, device=device_name, batch_size=batch_size)
    from harness.scoring.metrics import weights
    from harness.scoring.metrics.fid import frechet_distance, statistics
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.sources import folder_files, load_images

    info = weights.ensure_weights()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.data is not None:
            from harness.data import cache as data_cache

            train = data_cache.cached_split(args.data, "train", 64)
            sets = [np.asarray(train.of_class(c)[: args.n]) for c in (0, 1)]
        else:
            rng = np.random.default_rng(0)
            sets = [rng.integers(0, 256, (args.n, 64, 64, 3), dtype=np.uint8) for _ in (0, 1)]
        folders = [tmp_path / "a", tmp_path / "b"]
        for folder, images in zip(folders, sets, strict=True):
            write_pngs(folder, images)

        home = tmp_path / "torch"
        (home / "hub" / "checkpoints").mkdir(parents=True)
        shutil.copy(info.path, home / "hub" / "checkpoints" / weights.OFFICIAL_NAME)
        saved_home = os.environ.get("TORCH_HOME")
        os.environ["TORCH_HOME"] = str(home)
        from pytorch_fid.fid_score import calculate_frechet_distance, get_activations
        from pytorch_fid.inception import InceptionV3

        device = torch.device(args.device)
        model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(device)
        workers = min(8, len(os.sched_getaffinity(0)))
        start = time.perf_counter()
        theirs = [
            get_activations(folder_files(f), model, args.batch_size, 2048, device, workers)
            for f in folders
        ]
        their_seconds = time.perf_counter() - start
        if saved_home is None:
            os.environ.pop("TORCH_HOME")
        else:
            os.environ["TORCH_HOME"] = saved_home

        extractor = InceptionFeatures(
            dims=2048, device=device, batch_size=args.batch_size, weights=info
        )
        extractor(np.asarray(sets[0][:4]))  # warm-up, as pytorch-fid's first batch also pays it
        start = time.perf_counter()
        ours = [extractor(load_images(f)) for f in folders]
        our_seconds = time.perf_counter() - start

    fid_theirs = calculate_frechet_distance(*_stats(theirs[0]), *_stats(theirs[1]))
    fid_ours = frechet_distance(statistics(ours[0]), statistics(ours[1]))
    total = sum(len(s) for s in sets)
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}",
        "device": str(device)
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "images": total,
        "data": str(args.data) if args.data else "random",
        "pytorch_fid_images_per_s": round(total / their_seconds, 2),
        "harness_images_per_s": round(total / our_seconds, 2),
        "ratio": round(their_seconds / our_seconds, 2),
        "fid_pytorch_fid": fid_theirs,
        "fid_harness": fid_ours,
        "abs_fid_difference": abs(fid_theirs - fid_ours),
        "max_abs_feature_difference": float(
            max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True))
        ),
        "weights_sha256": info.sha256,
    }
    return report


def measure_random_weights(
    n: int = 1000, device_name: str = "cuda", batch_size: int = 50, repeats: int = 3
) -> dict:
    """Harness extractor vs pytorch-fid's InceptionV3 on the same in-memory uint8 batch.

    For a machine that cannot hold the weights file (an offline GPU node, 64 MiB per
    transfer): the speed of a network does not depend on its weights, so both run one random
    state of pytorch-fid's shape (torchvision's Inception3 with 1,008 classes: pytorch-fid's FID
    blocks subclass torchvision's and keep their parameter names). pytorch-fid's side is its
    model as released (``InceptionV3``, fp32) on float [0, 1] NCHW batches, as ``get_activations``
    feeds it; the harness side is ``InceptionFeatures`` on uint8 NHWC arrays, conversion and
    copy to the device included. Best of ``repeats`` timed passes each, after one warm-up pass.
    Features are compared too, though with random weights the difference says little.
    """
    import tempfile

    from torchvision.models.inception import Inception3

    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.network import build_inception
    from harness.scoring.metrics.weights import WeightsInfo, file_sha256

    torch.manual_seed(0)
    state = Inception3(num_classes=1008, aux_logits=False, init_weights=True).state_dict()
    device = torch.device(device_name)
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random-inception.pth"
        torch.save(state, path)
        info = WeightsInfo(str(path), file_sha256(path), "random (same shape)", "none")
        theirs_model = build_inception(state).to(device)
        ours = InceptionFeatures(dims=2048, device=device, batch_size=batch_size, weights=info)

    def run_theirs() -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, n, batch_size):
                batch = torch.from_numpy(images[start : start + batch_size]).permute(0, 3, 1, 2)
                x = batch.float().div(255).to(device)
                out.append(theirs_model(x)[0].squeeze(3).squeeze(2).cpu().numpy())
        return np.concatenate(out)

    def timed(fn) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
        fn()  # warm-up (cuDNN autotuning, allocations)
        best, result = float("inf"), None
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            result = fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - start)
        return best, result  # type: ignore[return-value]

    their_s, theirs = timed(run_theirs)
    our_s, feats = timed(lambda: ours(images))
    return {
        "device": str(device)
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch": str(torch.__version__),
        "weights": "random, pytorch-fid's shape",
        "images": n,
        "batch_size": batch_size,
        "pytorch_fid_images_per_s": round(n / their_s, 1),
        "harness_images_per_s": round(n / our_s, 1),
        "ratio": round(their_s / our_s, 2),
        "max_relative_feature_difference": float(
            np.abs(feats - theirs).max() / max(float(np.abs(theirs).max()), 1e-12)
        ),
    }


def _stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.mean(features, axis=0), np.cov(features, rowvar=False)


if __name__ == "__main__":
    main()
