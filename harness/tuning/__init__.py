"""Tuning: Optuna searches over a team's hyperparameters, beside training.

Takes in a team folder and the ``train`` split only: each trial trains through
:mod:`harness.training` on the ``fit`` part and is scored with :mod:`harness.scoring`'s
metrics against the ``val`` part, never ``test``. :mod:`.space` says what is sampled,
:mod:`.budget` what every trial gets, :mod:`.sampler` seeds each worker; :mod:`.storage` opens
SQLite, journal or RDB storages; :mod:`.report` writes ``best.json`` and plots; :mod:`.params` hands the best
parameters back to ``harness train --params best``.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "TuneSettings": "tune",
    "tune_team": "tune",
    "open_study": "tune",
    "make_sampler": "sampler",
    "sampler_seed": "sampler",
    "search_space": "space",
    "DEFAULT_SPACE": "space",
    "pin_budget": "budget",
    "open_storage": "storage",
    "study_dir": "storage",
    "report": "report",
    "write_best": "report",
    "load_params": "params",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
