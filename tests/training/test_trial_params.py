"""Raw search parameters back to overrides through the team's space, fixed values included."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from harness.training.trial_params import space_overrides


class Team2LikeSpec:
    def search_space(self, trial: optuna.Trial) -> dict[str, Any]:
        width = trial.suggest_categorical("g_width", [32, 64])
        return {
            "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [64, 128]),
            "g_width": width,
            "d_width": width,
        }


def test_a_value_outside_the_declared_choices_is_used_as_given() -> None:
    # `harness tune --batch-size 16` fixes team2's batch_size, which it searches over 64, 128.
    params = {"lr_g": 2e-4, "batch_size": 16, "g_width": 32}
    assert space_overrides(Team2LikeSpec(), params) == {
        "lr_g": 2e-4,
        "batch_size": 16,
        "g_width": 32,
        "d_width": 32,
    }


def test_a_missing_parameter_is_still_an_error_and_no_params_mean_no_overrides() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        space_overrides(Team2LikeSpec(), {"lr_g": 2e-4, "g_width": 32})
    assert space_overrides(Team2LikeSpec(), None) == {}
