"""Which rows of the board can be ranked against each other: those measured the same way.

FID depends on how it was measured, not only on the generator: it falls as the number of
samples grows (a team scored with 200 samples per class looks worse than the same run scored
with 1,000), and it changes with the image size, the resizer of the reals, the Inception
weights, the feature dims and the reference statistics. Ranking rows measured differently
would rank the protocol, not the teams. Every row records its protocol; the board ranks the
rows that share the protocol of most teams and shows the others apart, with what differs.
"""

from __future__ import annotations

import pandas as pd

# Everything of the measurement that moves a score, as recorded in each row. The reference
# keys (real_stats_*) stand for the held-out images, their fingerprint, size and resizer.
PROTOCOL_COLUMNS: tuple[str, ...] = (
    "n_fake_with_mask",
    "n_fake_without_mask",
    "n_real_with_mask",
    "n_real_without_mask",
    "image_size",
    "real_resizer",
    "weights_sha256",
    "dims",
    "real_stats_with_mask",
    "real_stats_without_mask",
)
REASON = "not_ranked_because"


def _text(value: object) -> str:
    """A protocol value as text: blanks for missing, whole numbers without ``.0``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.notna(number) and float(number).is_integer():
        return str(int(number))
    return str(value)


def protocol_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's protocol as one tuple of texts (missing columns count as blank)."""
    columns = [rows[c] if c in rows else pd.Series("", index=rows.index) for c in PROTOCOL_COLUMNS]
    return pd.Series(
        [tuple(_text(v) for v in values) for values in zip(*columns, strict=True)],
        index=rows.index,
        dtype=object,
    )


def main_protocol(rows: pd.DataFrame, keys: pd.Series) -> tuple[str, ...]:
    """The protocol the board ranks: the one most teams were scored with; ties go to the one
    with more rows, then to the most recent row."""
    stats = pd.DataFrame(
        {"key": keys, "team": rows["team"], "time": rows["timestamp_utc"].astype(str)}
    )
    summary = stats.groupby("key", sort=False).agg(
        teams=("team", "nunique"), rows=("team", "size"), latest=("time", "max")
    )
    best = summary.sort_values(["teams", "rows", "latest"], ascending=False).index[0]
    return tuple(best)


def _short(column: str, value: str) -> str:
    if not value:
        return "not recorded"
    if column.startswith(("weights_sha256", "real_stats")):
        return value[:12]
    return value


def difference(key: tuple[str, ...], main: tuple[str, ...]) -> str:
    """What makes a row's protocol differ from the ranked one, e.g.
    ``measured another way: n_fake_with_mask 200 (ranked rows: 1000)``."""
    parts = [
        f"{column} {_short(column, mine)} (ranked rows: {_short(column, theirs)})"
        for column, mine, theirs in zip(PROTOCOL_COLUMNS, key, main, strict=True)
        if mine != theirs
    ]
    return "measured another way: " + ", ".join(parts)


def split_by_protocol(ok: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ok rows that share the main protocol, and the others with a ``not_ranked_because``
    column that says what differs."""
    if ok.empty:
        return ok, ok.iloc[0:0]
    keys = protocol_keys(ok)
    main = main_protocol(ok, keys)
    same = keys.map(lambda key: key == main).astype(bool)
    apart = ok[~same].copy()
    apart[REASON] = [difference(key, main) for key in keys[~same]]
    return ok[same].copy(), apart
