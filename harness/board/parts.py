"""Which part of ``test`` a board's numbers come from, and the rows as that board shows them.

With a public/private split, a row holds three versions of every figure that compares a
team's samples with the held-out reals: against the whole test set (``fid_with_mask``,
``score``, ``score_ci_low``, ``kid_with_mask``, ``coverage_with_mask``, ``mifid``,
``n_real_with_mask``, ...), against the public part (``fid_public_with_mask``,
``score_public``, ``score_public_ci_low``, ...) and against the private part. A board shows
its own part only: the public board the public figures, the final board the private ones.
A whole-test figure on the public board would give away the private part (with the public
figure beside it, a team can solve for it), and mixing parts breaks a row's sums.

:func:`own_part` is the one place that rule lives. It gives each of the board's figures the
whole-test column's name (so every page, table and plot reads ``score``, ``fid_with_mask``,
... whatever the board), fills it with the board's part only (blank where a row lacks that
part's figure, never another part's), and drops every other version. Figures that do not
depend on the test set (label fidelity, memorisation distance against ``train``, sample
counts, epochs) pass through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from harness.classes import CLASS_NAMES

WHOLE, PUBLIC, PRIVATE = "whole", "public", "private"
PARTS: tuple[str, ...] = (PUBLIC, PRIVATE)

# Per-class figures measured against the test reals, as ``<prefix>_<class>`` (whole test) and
# ``<prefix>_<part>_<class>``.
PER_CLASS: tuple[str, ...] = (
    "fid",
    "kid",
    "precision",
    "recall",
    "density",
    "coverage",
    "mifid",
    "n_real",
)
# Sums (``score``, ``mifid``; ``score_public``, ...) and the score's interval.
SUMS: tuple[str, ...] = ("score", "mifid")
INTERVAL: tuple[str, ...] = ("score_ci_low", "score_ci_high")
# Whole-test figures with no per-part form: never on a split's boards.
WHOLE_ONLY: tuple[str, ...] = (
    "fid_overall",
    "bootstrap_mean",
    "classifier_test_accuracy",
    *(f"real_stats_{name}" for name in CLASS_NAMES),
)

MISSING_NOTE = {
    WHOLE: "not measured for this submission",
    PUBLIC: "no public-part figure in this row (scored before it was measured)",
    PRIVATE: "no private-part figure in this row (scored before it was measured)",
}


def part_column(name: str, part: str) -> str | None:
    """The column holding whole-test figure ``name`` for ``part`` (None: ``name`` is not a
    figure measured against the test reals)."""
    if name in SUMS:
        return name if part == WHOLE else f"{name}_{part}"
    if name in INTERVAL:
        return name if part == WHOLE else f"score_{part}_{name.removeprefix('score_')}"
    for prefix in PER_CLASS:
        for cls in CLASS_NAMES:
            if name == f"{prefix}_{cls}":
                return name if part == WHOLE else f"{prefix}_{part}_{cls}"
    return None


def figures() -> list[str]:
    """Every whole-test figure that has a per-part form."""
    return [*SUMS, *INTERVAL, *(f"{p}_{c}" for p in PER_CLASS for c in CLASS_NAMES)]


def part_columns(part: str) -> list[str]:
    """Every column that holds a figure of ``part``."""
    return [str(part_column(name, part)) for name in figures()]


def own_part(table: pd.DataFrame, part: str, keep: Sequence[str] = ()) -> pd.DataFrame:
    """The rows as ``part``'s board shows them: each figure under its whole-test name holding
    ``part``'s value (blank when the row has none), every other part's and every whole-test
    figure dropped (and any column naming the other part, however it is spelled); the columns
    in ``keep`` (the final board's ``score_public``) stay as
    they are. ``part`` ``whole`` (no split) returns the table unchanged."""
    if part == WHOLE:
        return table
    out = table.copy()
    for name in figures():
        source = str(part_column(name, part))
        out[name] = out[source] if source in out.columns else math.nan
    other = [p for p in PARTS if p != part]
    drop = set(part_columns(part)) | set(WHOLE_ONLY)
    drop |= {c for c in out.columns if any(p in str(c).lower() for p in other)}
    drop = drop - set(keep) - set(figures())
    return out.drop(columns=[c for c in out.columns if c in drop])
