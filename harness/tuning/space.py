"""What a search samples: the team's declared space, the default one, and knobs held fixed.

A child records the distributions a team's ``search_space`` asks for (so spaces must be
static: the same parameters whatever the values); Optuna samples raw values in the parent, and
the training child turns them back into overrides (:mod:`harness.training.trial_params`). A spec
with an empty space is tuned over :data:`DEFAULT_SPACE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    json_to_distribution,
)

from harness.errors import HarnessError

DEFAULT_SPACE: dict[str, BaseDistribution] = {
    "lr_g": FloatDistribution(5e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(5e-5, 1e-3, log=True),
    "beta1": CategoricalDistribution([0.0, 0.5]),
}


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """Ask ``trial`` for parameter ``name`` with the distribution the spec declared."""
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    raise HarnessError(f"search-space parameter {name!r} has an unsupported distribution {dist!r}")


def search_space(
    summary: Mapping[str, Any], fixed: Mapping[str, Any]
) -> tuple[dict[str, BaseDistribution], dict[str, Any]]:
    """The distributions Optuna samples, and the searched parameters that ``fixed`` pins.

    Args:
        summary: the team's validation summary (``search_distributions`` as JSON).
        fixed: settings and hparams held fixed for every trial (``--set``, ``--batch-size``).

    A parameter of the team's space that is fixed (team2 searches ``batch_size`` over 64 and
    128, too large for a small dataset) becomes a one-value distribution: every trial gets the
    fixed value, the trial's parameters (and so ``best.json`` and ``train --params best``)
    still hold it, and nothing is sampled for it.
    """
    space = {k: json_to_distribution(v) for k, v in summary["search_distributions"].items()}
    space = space or dict(DEFAULT_SPACE)
    pinned = {k: fixed[k] for k in space if k in fixed}
    for key, value in pinned.items():
        space[key] = CategoricalDistribution([value])
    return space, pinned
