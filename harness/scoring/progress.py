"""One progress display for every image pass: images/s and an ETA measured as it goes.

Every pass over images (Inception features of the held-out test set, of ``train`` for the
memorisation check, of the validation part for tuning, of a team's samples, and the label
classifier's training) shows the same tqdm bar: images done of the total, the rate in
images/s, and the time left at that rate. tqdm measures the rate from the batches done so far
(a moving average), so the estimate appears after the first batches and follows the machine's
real speed; no time is ever guessed from a figure measured elsewhere (issue 22: a printed
"under a minute on a 2-core CPU" was ten times off). A one-time pass also ends with one line
of what it took, so the next person knows what the pass costs on this machine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def image_bar(description: str, total: int, *, enabled: bool = True) -> Any:
    """A tqdm bar over ``total`` images on stderr: ``description: 40%| 400/1000 [00:40<01:00,
    10.0img/s]``. Redrawn every second on a terminal, every 30 s into a log file."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=description,
        unit="img",
        file=sys.stderr,
        disable=not enabled,
        leave=False,
        dynamic_ncols=True,
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
    )


@contextmanager
def one_time_pass(description: str, images: int, *, cached: bool = True) -> Iterator[None]:
    """Say what a one-time pass took when it ends: images, seconds and the measured rate."""
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    rate = f", {images / took:.1f} images/s" if took > 0 else ""
    end = "; cached" if cached else ""
    print(f"{description}: {images:,} images in {took:.0f} s{rate}{end}", file=sys.stderr)
