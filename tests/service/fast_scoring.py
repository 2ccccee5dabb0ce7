"""``harness worker`` whose jobs after its first reuse the first one's row: for the burst test,
which tests the intake and the queue (every accepted submission taken once, one row, one
result, public figures only), not the metrics, which the other service tests score for real.

Each worker scores its first job by the real path (so its row has every real column, the split
digest included), then hands every later job a copy of that row under the job's own team and
submission id; the board's locked append, the job's end and the stored result are the real
ones. Run as ``python fast_scoring.py worker --db ... `` (test processes only).
"""

from __future__ import annotations

import sys
from typing import Any


def patch() -> None:
    """Make :meth:`JobScorer.score` reuse this process's first real row."""
    from harness.service import workers

    real = workers.JobScorer.score
    first: dict[str, Any] = {}

    def score(self: workers.JobScorer, job: Any, log: workers.JobLog) -> dict[str, Any]:
        if not first:
            first.update(real(self, job, log))
            return dict(first)
        self.say(f"{job.team}: scored as this worker's first job was (fast test scoring)")
        return {**first, "team": job.team, "submission_id": job.submission_id}

    workers.JobScorer.score = score  # type: ignore[method-assign]


if __name__ == "__main__":
    patch()
    from harness.cli import main

    main(sys.argv[1:])
