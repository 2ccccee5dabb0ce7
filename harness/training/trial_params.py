"""Raw Optuna parameters back to training overrides, through the team's own search space.

A search stores raw values (``{"lr_g": 2.6e-4, "batch_size": 16}``); the training child asks the
team's ``search_space`` for its overrides on a trial that answers with those values, so a space
that maps or derives names (``"g_width": trial.suggest_...`` used as two hparams) still works.
Optuna's ``FixedTrial`` refuses a categorical value outside the declared choices, but such
values are legitimate: ``harness tune --batch-size 16`` fixes team2's ``batch_size``, which its
space searches over 64 and 128, and a hand-written ``--params`` file may do the same. Here such
a value is answered as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna


class GivenValuesTrial(optuna.trial.FixedTrial):
    """A ``FixedTrial`` that answers a categorical with the given value even when it is not
    one of the choices (floats and ints outside their range it already accepts, with a
    warning)."""

    def __init__(self, params: dict[str, Any], number: int = 0) -> None:
        super().__init__(params, number)
        self._given = dict(params)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:  # type: ignore[override]
        if name in self._given and self._given[name] not in list(choices):
            return self._given[name]
        return super().suggest_categorical(name, choices)


def space_overrides(spec: Any, trial_params: dict[str, Any] | None) -> dict[str, Any]:
    """Overrides from raw Optuna parameters: the team's search space on a fixed trial.

    A spec whose search space is empty is tuned over the harness's default space, whose
    parameter names are TrainConfig fields: those are used as they are.
    """
    if not trial_params:
        return {}
    space = spec.search_space(GivenValuesTrial(trial_params))
    return dict(space) if space else dict(trial_params)
