"""The GPU bench of the board's second call, in a child with the private packages on its path.

Reuses bench/: ``train_throughput.measure`` (team2 on the real training path, and its data
pipeline alone) and ``fid_throughput.measure_random_weights`` (the harness's Inception
extractor against pytorch-fid's model on the same batch: random weights of the same shape,
since the weights file does not travel). Prints one JSON object with the targets of
bench/gpu_report.py.

    python scripts/gpuboard/bench.py --data DIR --device cuda [--steps 200] [--batch-size 512]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "bench"), str(REPO)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--n", type=int, default=1000, help="images for the Inception timing")
    parser.add_argument("--fid-batch-sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--repeats", type=int, default=3, help="timed Inception passes")
    args = parser.parse_args()
    import fid_throughput
    import train_throughput
    from gpu_report import TARGETS

    with contextlib.redirect_stdout(sys.stderr):
        train = train_throughput.measure(
            args.data, steps=args.steps, batch_size=args.batch_size, device=args.device
        )
        inception = {
            f"batch_{b}": fid_throughput.measure_random_weights(
                args.n, args.device, b, args.repeats
            )
            for b in args.fid_batch_sizes
        }
    images = train["train_images_per_s_median"]
    first = args.fid_batch_sizes[0]
    ratio = inception[f"batch_{first}"]["ratio"]
    report = {
        "team2_train": train,
        "inception": inception,
        "targets": {
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
            "inception_speedup_vs_pytorch_fid": {
                "target": f">= {TARGETS['fid_speedup_vs_pytorch_fid']:.0f}x (batch {first}, both)",
                "value": ratio,
                "met": bool(ratio >= TARGETS["fid_speedup_vs_pytorch_fid"]),
            },
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
