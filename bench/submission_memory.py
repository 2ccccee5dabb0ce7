"""The parent's peak memory and time while it refuses a hostile samples submission.

Three submissions from the hostile probe of issue 21, each made here in a temporary folder at
the competition's defaults (1,000 per class, 64 x 64):

1. ``zip-bomb``: ``samples.npz`` of compressed zeros declaring 200,000 images (about 2.3 MB
   on disk, 2.4 GB inflated); before the fix the parent took 3.1 GB and 121 s;
2. ``huge-header``: ``samples.npz`` whose arrays declare 114 GiB (a few hundred bytes on
   disk); before, "internal error" and a traceback;
3. ``overlong``: ``samples.npz`` whose header declares exactly the 2,000 images asked for but
   whose data goes on to 2.4 GB of zeros (the header alone would pass);
4. ``huge-png``: ``samples/with_mask/000.png`` of 12,000 x 12,000 pixels (144 megapixels);
   before, 2.2 GB before being refused.

Each is scored in a fresh child process through the real path of ``harness score`` for a
samples submission (:func:`harness.scoring.submission.detect` and ``draw``, which stop before
any feature is computed), and the child reports its peak RSS (``VmHWM``), the peak after the
imports alone, the seconds the refusal took, and the error line. Target: under 500 MB.

Run by hand; write the figures into bench/README.md.

    python bench/submission_memory.py [--n-per-class 1000] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

CASES = ("zip-bomb", "huge-header", "overlong", "huge-png")


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def _member(
    archive: zipfile.ZipFile, name: str, shape: tuple[int, ...], dtype: str, n: int
) -> None:
    """A ``.npy`` member declaring ``shape`` followed by ``n`` zero bytes, streamed."""
    sink = _Sink()
    header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(sink, header)
    chunk = bytes(1 << 24)
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        member.write(bytes(sink.data))
        while n:
            member.write(chunk[: min(n, len(chunk))])
            n -= min(n, len(chunk))


def make_team(case: str, folder: Path, size: int, n_per_class: int) -> Path:
    """A team folder holding the hostile submission ``case``."""
    from PIL import Image

    team = folder / case
    team.mkdir(parents=True)
    if case == "zip-bomb":
        count = 200_000
        with zipfile.ZipFile(team / "samples.npz", "w", zipfile.ZIP_DEFLATED) as archive:
            _member(archive, "images", (count, size, size, 3), "u1", count * size * size * 3)
            _member(archive, "labels", (count,), "<i8", count * 8)
    elif case == "overlong":
        count, overlong = 2 * n_per_class, 200_000
        with zipfile.ZipFile(team / "samples.npz", "w", zipfile.ZIP_DEFLATED) as archive:
            _member(archive, "images", (count, size, size, 3), "u1", overlong * size * size * 3)
            _member(archive, "labels", (count,), "<i8", count * 8)
    elif case == "huge-header":
        count = 114 * 2**30 // (size * size * 3)
        with zipfile.ZipFile(team / "samples.npz", "w", zipfile.ZIP_DEFLATED) as archive:
            _member(archive, "images", (count, size, size, 3), "u1", 0)
            _member(archive, "labels", (count,), "<i8", 0)
    else:
        for name in ("with_mask", "without_mask"):
            (team / "samples" / name).mkdir(parents=True)
        Image.new("L", (12_000, 12_000), 128).save(team / "samples" / "with_mask" / "000.png")
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(team / "samples" / "without_mask" / "000.png")
    return team


def child(team: Path, n_per_class: int, size: int) -> None:
    """Score ``team`` as ``harness score`` would, up to the refusal; print one JSON line."""
    from harness.errors import HarnessError
    from harness.sandbox.limits import job_limits
    from harness.scoring import submission

    baseline = _vm_hwm_mib()
    started = time.monotonic()
    try:
        sub = submission.detect(team)
        submission.draw(
            sub,
            runs_root=team.parent / "runs",
            data_root=team.parent / "data",
            run_id=None,
            n_per_class=n_per_class if sub.kind != "samples" or team.name != "huge-png" else 1,
            seed=0,
            device="cpu",
            limits=job_limits("sample"),
            forbidden=[],
            samples_size=size,
            say=lambda m: None,
        )
        error = None
    except HarnessError as exc:
        error = str(exc)
    print(
        json.dumps(
            {
                "seconds": round(time.monotonic() - started, 3),
                "peak_rss_mib": round(_vm_hwm_mib(), 1),
                "after_imports_mib": round(baseline, 1),
                "error": error,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--child", nargs=1, metavar="TEAM", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.n_per_class, args.size)
        return
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "n_per_class": args.n_per_class,
        "size": args.size,
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="submission-memory-") as tmp:
        for case in CASES:
            made = time.monotonic()
            team = make_team(case, Path(tmp), args.size, args.n_per_class)
            on_disk = sum(p.stat().st_size for p in team.rglob("*") if p.is_file())
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(team),
                    "--n-per-class",
                    str(args.n_per_class),
                    "--size",
                    str(args.size),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["bytes_on_disk"] = on_disk
            result["seconds_to_make"] = round(time.monotonic() - made, 1)
            report["cases"][case] = result  # type: ignore[index]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
