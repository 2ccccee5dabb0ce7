"""Scoring: samples from a trained run, measured against the held-out reals.

Takes in a run folder from :mod:`harness.training` and the ``test`` split from
:mod:`harness.data`. A child draws ``n`` samples per class (:mod:`.sample`), or a latent walk
between two seeds (:mod:`.walk`); the parent checks
them, extracts Inception pool3 features once and computes every metric from them
(:mod:`.metrics`: FID, KID, bootstrap; :mod:`.label_fidelity`; :mod:`.competition_metrics`:
public/private FID, MiFID, PRDC). A team folder may instead hold an exported checkpoint or its
own samples (:mod:`.submission`). Hands on one row per team (:mod:`.score`) for the board; a
failure is a ``failed`` row, never a stopped round.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "STATUS_FAILED": "score",
    "STATUS_OK": "score",
    "ScoreSettings": "score",
    "Scorer": "score",
    "discover_teams": "score",
    "SampleSet": "sample",
    "check_samples": "sample",
    "sample_team": "sample",
    "LabelJudge": "label_fidelity",
    "Walk": "walk",
    "walk_team": "walk",
    "check_sample_count": "rounds",
    "check_team_folders": "rounds",
    "Submission": "submission",
    "detect": "submission",
    "CompetitionMetrics": "competition_metrics",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
