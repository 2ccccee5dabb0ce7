"""One JSON report of both throughput benchmarks on a GPU, checked against the GPU targets.

Runs ``train_throughput.measure`` (team2, the real training path: bf16 autocast,
channels_last, pinned memory, DataLoader workers) and ``fid_throughput.measure`` (harness
features vs pytorch-fid's ``get_activations`` on the same PNGs), then prints one JSON object
with both reports and whether each target of the GPU issue is met:

- team2 trains at >= 10,000 images/s, and the data pipeline alone is faster than training
  (so it is never the bottleneck);
- harness features >= 5x pytorch-fid's, with |FID difference| < 1e-3.

Started by ``bench/gpu.sh``. Without CUDA it stops with one line unless ``--device cpu`` is
given (a CPU dry run, which is how the report's shape is tested; its figures mean nothing
against the targets).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGETS = {
    "train_images_per_s": 10_000.0,
    "fid_speedup_vs_pytorch_fid": 5.0,
    "abs_fid_difference": 1e-3,
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu for a dry run")
    parser.add_argument("--steps", type=int, default=200, help="training steps timed")
    parser.add_argument("--batch-size", type=int, default=512, help="team2's batch size")
    parser.add_argument("--workers", type=int, default=-1, help="DataLoader workers (-1: auto)")
    parser.add_argument("--precision", default="auto", help="fp32, bf16 or auto")
    parser.add_argument("--n", type=int, default=1000, help="images per class for FID")
    return parser.parse_args(argv)


def targets(train: dict, fid: dict) -> dict:
    """Each target with its value and whether it is met."""
    images = train["train_images_per_s_median"]
    return {
        "train_images_per_s": {
            "target": f">= {TARGETS['train_images_per_s']:.0f}",
            "value": images,
            "met": bool(images >= TARGETS["train_images_per_s"]),
        },
        "pipeline_not_the_bottleneck": {
            "target": "pipeline-only images/s > training images/s",
            "value": train["pipeline_only_images_per_s"],
            "met": bool(train["pipeline_only_images_per_s"] > images),
        },
        "fid_speedup_vs_pytorch_fid": {
            "target": f">= {TARGETS['fid_speedup_vs_pytorch_fid']:.0f}x",
            "value": fid["ratio"],
            "met": bool(fid["ratio"] >= TARGETS["fid_speedup_vs_pytorch_fid"]),
        },
        "abs_fid_difference": {
            "target": f"< {TARGETS['abs_fid_difference']:g}",
            "value": float(fid["abs_fid_difference"]),
            "met": bool(fid["abs_fid_difference"] < TARGETS["abs_fid_difference"]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    cuda = torch.cuda.is_available()
    if args.device != "cpu" and not cuda:
        print(
            f"error: no CUDA GPU is visible (torch {torch.__version__}); this benchmark is for "
            "a GPU machine; --device cpu makes a dry run whose figures mean nothing",
            file=sys.stderr,
        )
        return 2
    import fid_throughput
    import train_throughput

    # stdout carries the report alone: pytorch-fid prints its warnings there.
    with contextlib.redirect_stdout(sys.stderr):
        train = train_throughput.measure(
            args.data,
            steps=args.steps,
            batch_size=args.batch_size,
            device=args.device,
            workers=args.workers,
            precision=args.precision,
        )
        fid = fid_throughput.measure(args.data, args.n, args.device)
    report = {
        "machine": f"{platform.node()} {platform.machine()}, torch {torch.__version__}",
        "cuda_available": cuda,
        "gpu": torch.cuda.get_device_name(torch.device(args.device))
        if cuda and args.device != "cpu"
        else None,
        "device": args.device,
        "dry_run": args.device == "cpu",
        "train": train,
        "fid": fid,
        "targets": targets(train, fid),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
