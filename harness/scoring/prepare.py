"""``harness prepare``: every one-time cache that scoring and tuning need, made ahead.

A first ``harness score`` otherwise spends most of its time on passes that every later score
reuses: Inception features of the held-out ``test`` images, of every ``train`` image (the
memorisation check, MiFID), the label classifier's training, and for ``harness tune`` the
features of the validation part of ``train``. Made here, at a time the organiser chooses, each
pass shows the same display as anywhere else (:mod:`harness.scoring.progress`: images/s and
the time left, measured from its first batches) and ends with what it took on this machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import HarnessError


@dataclass(frozen=True)
class Prepared:
    """One cache: what it is, whether it was already there, and the seconds it took now."""

    name: str
    size: int
    was_cached: bool
    seconds: float


def prepare_caches(
    data_root: Path,
    *,
    sizes: Sequence[int] = (64,),
    dims: int = 2048,
    device: str = "auto",
    memorisation: bool = True,
    labels: bool = True,
    tuning: bool = True,
    say: Callable[[str], None] = print,
    extractor: Any = None,
) -> list[Prepared]:
    """Compute (or find) every one-time cache for each image size; returns one entry per cache.

    Args:
        data_root: the dataset in the harness layout.
        sizes: image sizes the teams generate (default 64, the competition's).
        dims: Inception feature dims (default 2048, pool3, what `harness score` uses).
        device: device for Inception and the classifier.
        memorisation: the ``train`` features of the memorisation check (default on).
        labels: the label classifier (default on).
        tuning: the validation-part features `harness tune` compares against (default on).
        say: where the one-line messages go.
        extractor: an Inception extractor to use (default: a new one for ``dims``/``device``).
    """
    import time

    from harness.device import resolve_device
    from harness.scoring.label_fidelity import LabelJudge, classifier_cached
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.reference import class_reference, reference_cached

    dev = resolve_device(device)
    extractor = extractor or InceptionFeatures(dims=dims, device=dev)
    parts: list[tuple[str, str, str]] = [("test", "all", "test features")]
    if memorisation:
        parts.append(("train", "all", "train features (memorisation, MiFID)"))
    if tuning:
        parts.append(("train", "val", "validation features (tune)"))
    done: list[Prepared] = []
    for size in sizes:
        for split, subset, name in parts:
            for c in range(NUM_CLASSES):
                what = f"{name}, {CLASS_NAMES[c]}"
                cached = reference_cached(data_root, c, size, extractor, split=split, subset=subset)
                started = time.monotonic()
                try:
                    class_reference(data_root, c, size, extractor, split=split, subset=subset)
                except HarnessError as exc:
                    if subset != "val":
                        raise
                    # A tiny dataset's validation part may be too small for a FID; tuning
                    # would refuse it too, with the same reason. Scoring is unaffected.
                    say(f"{what}: skipped: {exc}")
                    continue
                done.append(Prepared(what, size, cached, time.monotonic() - started))
        if labels:
            judge = LabelJudge(data_root, device=str(dev), say=say)
            cached = classifier_cached(data_root, size, judge.device, judge.recipe)
            started = time.monotonic()
            judge.judge(size)
            done.append(Prepared("label classifier", size, cached, time.monotonic() - started))
    return done
