"""The test-leak check's evidence: samples above the held-out images they sit on, for the
organiser only.

The picture shows held-out images, so it is written where only the organiser looks: under
the held-out cache (``<cache>/heldout/test-leak/``), which the sandbox never binds and the
site never reads. Never beside the samples in a run folder (team code may read its runs, and
the site publishes their ``nearest`` pictures) and never in a team's folder or results.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.classes import NUM_CLASSES
from harness.data import cache as data_cache
from harness.scoring.metrics.test_leak import LeakCheck
from harness.scoring.nearest_grid import save_nearest_grid

FOLDER = "test-leak"


def evidence_folder() -> Path:
    """Where the test-leak pictures go: inside the held-out cache."""
    return data_cache.heldout_cache_root() / FOLDER


def save_evidence(
    data_root: Path,
    team: str,
    submission_id: str,
    samples: Any,
    found: LeakCheck,
    *,
    shown: int = 8,
) -> Path:
    """Write the nearest (sample, held-out image) pairs of ``found`` and return the path.

    Args:
        data_root: the dataset whose ``test`` images were compared (decoded at the samples'
            size from the held-out cache, in the order of the test features).
        team, submission_id: name the file (``<team>-<submission_id>.png``).
        samples: the submission's samples (``images``, ``of_class``).
        found: the check, whose ``nearest`` rows index the test images of all classes.
        shown: how many pairs.
    """
    size = int(samples.images.shape[1])
    test = data_cache.cached_split(Path(data_root), "test", size, progress=False)
    heldout = np.concatenate([test.of_class(c) for c in range(NUM_CLASSES)])
    folder = evidence_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{team}-{submission_id or 'unnamed'}.png"
    return save_nearest_grid(
        path,
        fakes=[samples.of_class(c) for c in range(NUM_CLASSES)],
        train=[heldout] * NUM_CLASSES,
        nearest=found.evidence(),
        shown=shown,
        title=f"{team}: samples that sit on held-out test images (the held-out image below each)",
        reference_label="nearest\nheld-out",
    )
