"""The budget of a study: what every trial gets, pinned on the study's first run.

Trials trained for different epochs, batch sizes or step limits, or scored with another number
of validation samples, are not comparable, so a study records its budget in its user
attributes on first use and refuses to continue with another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from harness.errors import HarnessError

BUDGET_KEYS = (
    "epochs",
    "report_every",
    "n_val",
    "dims",
    "seed",
    "batch_size",
    "max_steps",
    "overrides",
)
# A study pinned before a knob existed ran with the knob's default.
BUDGET_DEFAULTS: dict[str, Any] = {"batch_size": None, "max_steps": None, "overrides": {}}
KNOB_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "max_steps": "--max-steps"}


def pin_budget(study: optuna.Study, budget: Mapping[str, Any]) -> None:
    """Record ``budget`` on a new study; on a study that has one, require the same.

    Raises:
        HarnessError: the study was run with another budget; names what differs.
    """
    fixed = {k: budget[k] for k in BUDGET_KEYS if k in budget}
    stored = study.user_attrs.get("budget")
    if stored is None:
        study.set_user_attr("budget", fixed)
        return
    changed = {
        k: (stored.get(k, BUDGET_DEFAULTS.get(k)), fixed[k])
        for k in fixed
        if stored.get(k, BUDGET_DEFAULTS.get(k)) != fixed[k]
    }
    if changed:
        what = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
        raise HarnessError(
            f"study {study.study_name} was run with another budget ({what}); keep its settings "
            "to continue it, or choose a new --study name"
        )


def check_knobs(
    batch_size: int | None, max_steps: int | None, overrides: Mapping[str, Any]
) -> None:
    """Knobs fixed for every trial must be positive, and ``--set`` must not take a knob that
    has its own flag (two values for one setting)."""
    for flag, value in (("--batch-size", batch_size), ("--max-steps", max_steps)):
        if value is not None and value < 1:
            raise HarnessError(f"{flag} must be at least 1, got {value}")
    for key, flag in KNOB_FLAGS.items():
        if key in overrides:
            raise HarnessError(f"--set {key}=... is set by {flag} when tuning; use {flag}")
