"""Training throughput of team2 (conditional DCGAN, 64 x 64) on the device at hand.

Runs the real training path (`harness.training.train.train_team`: child process, DataLoader with the
team's albumentations pipeline, AMP and channels_last on a GPU) for a fixed number of steps and
reads images/s from the run's metrics, skipping warm-up. It also times the data pipeline alone,
to show whether it could be the bottleneck. Run by hand; write the figures into bench/README.md.

    python bench/train_throughput.py --data ../shared/facemask [--steps 60] [--device auto]
        [--precision auto]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from harness.data import cache as data_cache
from harness.paths import data_root
from harness.training import augment
from harness.training.train import train_team

TEAM = Path(__file__).resolve().parent.parent / "submissions" / "team2"


def loader_images_per_s(folder: Path, batch_size: int, workers: int, batches: int) -> float:
    """Images/s of the augmentation pipeline alone (team2's transform), no model."""
    import importlib.util

    module_spec = importlib.util.spec_from_file_location("team2_model", TEAM / "model.py")
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    transform = augment.as_compose(module.spec.augmentation())
    n = len(data_cache.load_arrays(folder).labels)
    sampler = augment.RunBatches(n, batch_size, seed=0, start_epoch=0, start_batch=0, end_epoch=100)
    dataset = augment.AugmentedBatches(folder, transform, seed=0)
    loader = augment.make_loader(dataset, sampler, num_workers=workers, pin_memory=False)
    it = iter(loader)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - start)


def measure(
    data: Path | None,
    *,
    steps: int = 60,
    batch_size: int = 128,
    device: str = "auto",
    workers: int = -1,
    precision: str = "auto",
) -> dict:
    """Train team2 for ``steps`` steps and return the report (see the module docstring)."""
    root = data_root(data)
    cache = data_cache.cached_split(root, "train", 64)
    cuda = torch.cuda.is_available() and device != "cpu"
    loader_workers = workers if workers >= 0 else (8 if cuda else 0)
    pipeline = loader_images_per_s(cache.folder, batch_size, loader_workers, batches=20)

    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "max_steps": steps,
            "epochs": 1000,
            "batch_size": batch_size,
            "num_workers": workers,
            "checkpoint_every": 1000,
        }
        started = time.perf_counter()
        result = train_team(
            TEAM,
            data_root=root,
            runs_root=Path(tmp),
            overrides=overrides,
            device=device,
            precision=precision,
        )
        wall = time.perf_counter() - started
        config = json.loads((Path(result["run_dir"]) / "config.json").read_text())
        lines = (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()
        records = [r for r in map(json.loads, lines) if r["kind"] == "step"]
    steady = [r["img_per_s"] for r in records[len(records) // 3 :]]  # skip warm-up
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "device": result["device"],
        "precision": config.get("precision"),
        "steps": steps,
        "batch_size": batch_size,
        "dataloader_workers": loader_workers,
        "train_images_per_s_median": round(statistics.median(steady), 1),
        "pipeline_only_images_per_s": round(pipeline, 1),
        "peak_rss_mib": round(result["peak_rss_mib"]),
        "peak_gpu_mib": round(result.get("peak_gpu_mib", 0.0)),
        "wall_s_including_startup": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=-1, help="DataLoader workers (-1: auto)")
    parser.add_argument("--precision", default="auto", help="fp32, bf16 or auto")
    args = parser.parse_args()
    report = measure(
        args.data,
        steps=args.steps,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
        precision=args.precision,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
