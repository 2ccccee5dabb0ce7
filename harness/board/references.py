"""Reference rows: scored like a submission, but not a team.

The real-data floor (``harness real-floor``: N real ``train`` images per class scored like a
samples submission) says what a perfect generator would score at the competition's N, so
every team's distance from it is visible. Such a row carries ``reference = True``. The boards
show it where its score puts it, with the rank ``ref``: it never takes a team's rank, is never
a team's best submission, and is never on the final board's selection rule.
"""

from __future__ import annotations

import pandas as pd

REFERENCE = "reference"
REFERENCE_RANK = "ref"
_TRUE = frozenset({"true", "1", "yes"})


def reference_mask(rows: pd.DataFrame) -> pd.Series:
    """Which rows are references (a missing or blank ``reference`` cell is a team's row)."""
    if REFERENCE not in rows:
        return pd.Series(False, index=rows.index, dtype=bool)
    return rows[REFERENCE].map(lambda v: str(v).strip().lower() in _TRUE).astype(bool)


def split_references(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The teams' rows and the reference rows."""
    mask = reference_mask(rows)
    return rows[~mask], rows[mask]


def interleave(ranked: pd.DataFrame, references: pd.DataFrame, column: str) -> pd.DataFrame:
    """``ranked`` (teams in rank order by ``column``) with the best row of each reference placed
    before the first team whose ``column`` is higher, ranked ``ref``.

    The teams keep their ranks; a reference whose ``column`` is missing is left out.
    """
    if references.empty or column not in references:
        return ranked
    refs = references.copy()
    refs[column] = pd.to_numeric(refs[column], errors="coerce")
    refs = refs[refs[column].notna()].sort_values(column, kind="stable")
    refs = refs.drop_duplicates(subset=["team"], keep="first")
    if refs.empty:
        return ranked
    if "rank" in refs:
        refs = refs.drop(columns="rank")
    refs.insert(0, "rank", REFERENCE_RANK)
    values = pd.to_numeric(ranked[column], errors="coerce").tolist() if len(ranked) else []
    parts, start = [], 0
    for i in range(len(refs)):
        value = refs[column].iloc[i]
        stop = start
        while stop < len(values) and not values[stop] > value:
            stop += 1
        parts += [ranked.iloc[start:stop], refs.iloc[[i]]]
        start = stop
    parts.append(ranked.iloc[start:])
    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    out["rank"] = out["rank"].astype(object)
    return out
