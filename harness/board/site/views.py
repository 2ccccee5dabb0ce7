"""Rows -> what the pages show: which board, which columns, numbers as text.

The site is built from leaderboard rows as they are. Every column past the core ones is
optional (competition mode adds ``source``, ``submitted_at``, public/private scores,
memorisation, precision/recall/density/coverage): a page shows what a row has and a blank
where it has nothing, never an error. Each board shows its own part's figures only
(:mod:`harness.board.parts`); the public site also drops every column whose name contains
``private`` before anything is drawn from the table, so no page, image or plot can show one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.classes import CLASS_NAMES
from harness.scoring.score import STATUS_OK

PRIVATE_MARK = "private"
KEY_STATUS = "status"
SCORE = "score"
PUBLIC_SCORE = "score_public"
PRIVATE_SCORE = "score_private"
BLANK = "—"

# (label, column prefix, digits, lower is better?) of the per-class numbers on the index;
# the team page adds the rest of PER_CLASS_DETAIL.
PER_CLASS_INDEX: tuple[tuple[str, str, int, bool], ...] = (
    ("FID", "fid", 1, True),
    ("KID", "kid", 3, True),
    ("Label fidelity", "label_fidelity", 3, False),
    ("Precision", "precision", 3, False),
    ("Recall", "recall", 3, False),
    ("Coverage", "coverage", 3, False),
)


def index_metrics(metric: str) -> tuple[tuple[str, str, int, bool], ...]:
    """The per-class columns of the index: FID first, whose two values add up to the score
    beside them; MiFID in its place when MiFID ranks the board (then those add up)."""
    if metric == "mifid":
        return (("MiFID", "mifid", 1, True), *PER_CLASS_INDEX[1:])
    return PER_CLASS_INDEX


PER_CLASS_DETAIL: tuple[tuple[str, str, int, bool], ...] = (
    *PER_CLASS_INDEX[:4],
    ("Density", "density", 3, False),
    *PER_CLASS_INDEX[4:],
    ("Memorisation distance", "memorisation", 3, False),
    ("MiFID", "mifid", 1, True),
    ("Samples (fake)", "n_fake", 0, False),
    ("Held-out reals", "n_real", 0, False),
)


def drop_private(table: pd.DataFrame) -> pd.DataFrame:
    """The table without any column whose name contains ``private`` (the public site's input).

    Competition mode (issue 14) owns which numbers are private; this rule is deliberately
    wider than any list of names, so a private column added later is hidden too.
    """
    return table[[c for c in table.columns if PRIVATE_MARK not in str(c).lower()]]


def ranking_column(table: pd.DataFrame, *, private: bool, metric: str = SCORE) -> str:
    """The column that ranks the board, as :mod:`harness.board.boards` ranks it:
    ``<metric>_private`` for the final board; for the public one ``<metric>_public`` when the
    rows were scored with a public/private split, else the whole-test ``<metric>``."""
    from harness.board.boards import board_part
    from harness.board.parts import WHOLE

    part = board_part(table, private=private)
    return metric if part == WHOLE else f"{metric}_{part}"


def score_label(column: str) -> str:
    """What the pages call the ranking column."""
    base, _, part = column.partition("_")
    name = {SCORE: "score", "mifid": "MiFID"}.get(base, base)
    if not part:
        return name[0].upper() + name[1:]
    return f"{part.capitalize()} {name}"


# Columns the board functions compute that the site shows beside each row's own.
BOARD_ONLY: tuple[str, ...] = (
    *("rank", "ahead_of_next", "chosen_by", "public_rank", "rank_change"),
    *("error", "not_ranked_because"),  # why a row is not ranked (e.g. scored before the split)
)


def select_board(
    table: pd.DataFrame,
    *,
    private: bool,
    selections: Mapping[str, Sequence[str]] | None = None,
    final_selections: int = 2,
    metric: str = SCORE,
    all_runs: bool = False,
) -> tuple[pd.DataFrame, str]:
    """The board's rows with every column of each, as its own part shows them, and the
    column that ranks it.

    The rows and their order are those of ``harness leaderboard`` (``--private``,
    ``--metric``, ``--all-runs``): the public board of
    :func:`harness.board.boards.public_board`, or the final board of
    :func:`~harness.board.boards.private_board` with the teams' ``selections`` and Kaggle's
    rule for the ``final_selections`` best public ones. Those return the board's columns only,
    and the site needs the rest of each row (KID, coverage, ...), so each row's position rides
    through them in ``_row`` and the whole row is taken back from ``table`` by it, as
    :func:`harness.board.parts.own_part` shows it: every figure measured against the test
    reals is the board's own part's, under its whole-test name (``score``, ``fid_with_mask``,
    ...), blank where the row lacks it. With ``metric`` ``mifid`` the MiFID sum takes the
    place of ``score`` (it has no interval).

    Raises:
        HarnessError: the final board of rows that were never scored with a split.
    """
    from harness.board.boards import board_part, private_board, public_board
    from harness.board.parts import PRIVATE, own_part

    column = ranking_column(table, private=private, metric=metric)
    part = board_part(table, private=private)
    keep = ("score_public", f"{metric}_public") if part == PRIVATE else ()
    view = table.reset_index(drop=True).copy()
    if view.empty:
        return own_part(view, part), column
    view["_row"] = range(len(view))
    if private:
        board = private_board(
            view, selections or {}, k=final_selections, metric=metric, extra=["_row"]
        )  # type: ignore[arg-type]
    else:
        board = public_board(view, metric=metric, all_runs=all_runs, extra=["_row"])  # type: ignore[arg-type]
    shown = own_part(view, part, keep=keep)
    if metric != SCORE:
        shown[SCORE] = shown.get(metric, math.nan)
        for end in ("low", "high"):
            shown[f"score_ci_{end}"] = math.nan
    full = shown.set_index("_row", drop=False).loc[board["_row"].astype(int)]
    full = full.reset_index(drop=True)
    for name in BOARD_ONLY:
        if name in board:
            full[name] = board[name].tolist()
    return full, column


def entries(table: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """Each team's number of submissions (scored or failed, as Kaggle counts them) and the
    time of its latest one, formatted."""
    if table.empty or "team" not in table.columns:
        return {}
    when = table.get("submitted_at", pd.Series(math.nan, index=table.index)).astype(object)
    if "timestamp_utc" in table.columns:
        when = when.where(when.notna(), table["timestamp_utc"])
    stamps = pd.to_datetime(when, utc=True, errors="coerce", format="mixed")
    out = {}
    for team, rows in stamps.groupby(table["team"].astype(str)):
        latest = rows.max()
        out[team] = (len(rows), BLANK if pd.isna(latest) else latest.strftime("%Y-%m-%d %H:%M"))
    return out


def number(value: Any, digits: int) -> str:
    """A number with fixed decimals and thousands separators (powers of ten from a million
    up, as every board: :func:`harness.board.cells.figure`), or the blank mark."""
    from harness.board.cells import figure

    value = pd.to_numeric(value, errors="coerce") if not isinstance(value, bool) else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return BLANK
    return figure(float(value), digits, thousands=True)


def text(value: Any) -> str:
    """A text cell: the value, or the blank mark for NaN and empty strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return BLANK
    return str(value)


def moment(value: Any) -> str:
    """A timestamp as ``2026-01-02 10:00 UTC`` (the CSV's ISO 8601 reads badly on a phone)."""
    shown = text(value)
    if shown == BLANK:
        return shown
    parsed = pd.to_datetime(shown, utc=True, errors="coerce")
    return shown if pd.isna(parsed) else parsed.strftime("%Y-%m-%d %H:%M UTC")


def truthy(value: Any) -> bool | None:
    """A CSV boolean (``True``, ``true``, ``1``) as a bool; None when the row has none."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


@dataclass(frozen=True)
class PerClass:
    """One per-class metric of one row, formatted: ``values[i]`` is class ``i``'s."""

    label: str
    values: tuple[str, ...]
    lower_is_better: bool


def per_class(row: dict[str, Any], metrics: Iterable[tuple[str, str, int, bool]]) -> list[PerClass]:
    """The row's per-class metrics (``<prefix>_<class name>`` columns), blanks included."""
    return [
        PerClass(
            label=label,
            values=tuple(number(row.get(f"{prefix}_{name}"), digits) for name in CLASS_NAMES),
            lower_is_better=lower,
        )
        for label, prefix, digits, lower in metrics
    ]


def numeric(table: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers (NaN where blank, all NaN when the table lacks it)."""
    if column not in table.columns:
        return pd.Series(math.nan, index=table.index, dtype=float)
    return pd.to_numeric(table[column], errors="coerce")


@dataclass(frozen=True)
class ScoreBar:
    """Where a score and its interval sit on the board's common scale, in percent."""

    tick: float
    band_left: float | None
    band_width: float | None


def score_bars(board: pd.DataFrame) -> tuple[list[ScoreBar | None], tuple[float, float]]:
    """A bar per board row on one scale shared by all rows (None for a row without a score),
    and the scale's ends, so a reader sees how far apart teams are, intervals included."""
    from harness.board.cells import HUGE

    scores, lows, highs = (
        numeric(board, column).where(lambda v: v.abs() < HUGE)  # a memoriser's MiFID: no bar
        for column in (SCORE, "score_ci_low", "score_ci_high")
    )
    known = pd.concat([scores, lows, highs]).dropna()
    if known.empty:
        return [None] * len(board), (math.nan, math.nan)
    lo, hi = float(known.min()), float(known.max())
    pad = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 1.0)
    lo, hi = lo - pad, hi + pad

    def at(value: float) -> float:
        return round(100.0 * (value - lo) / (hi - lo), 2)

    bars: list[ScoreBar | None] = []
    for score, low, high in zip(scores, lows, highs, strict=True):
        if pd.isna(score):
            bars.append(None)
        elif pd.isna(low) or pd.isna(high):
            bars.append(ScoreBar(tick=at(score), band_left=None, band_width=None))
        else:
            bars.append(ScoreBar(at(score), at(low), round(at(high) - at(low), 2)))
    return bars, (lo, hi)


AHEAD_TEXT = {
    "yes": ("yes", "its 95% interval lies wholly below the next team's"),
    "no": ("no: overlaps", "its 95% interval overlaps the next team's: the order may be chance"),
    "?": ("unknown", "a row without an interval: the lead cannot be judged"),
}


def ahead(value: Any) -> dict[str, str] | None:
    """The board's ``ahead_of_next`` (yes / no / ? / blank for the last row) for a page."""
    key = str(value) if isinstance(value, str) else ""
    if key not in AHEAD_TEXT:
        return None
    shown, title = AHEAD_TEXT[key]
    return {"key": {"?": "unknown"}.get(key, key), "text": shown, "title": title}


# Protocol fields shown at the foot: label -> candidate columns (the first the rows have).
PROTOCOL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Samples per class (fake)", tuple(f"n_fake_{name}" for name in CLASS_NAMES)),
    ("Held-out reals per class", tuple(f"n_real_{name}" for name in CLASS_NAMES)),
    ("Image size", ("image_size",)),
    ("Real-image resizer", ("real_resizer",)),
    ("Feature extractor", ("extractor",)),
    ("Feature dims", ("dims",)),
    ("Inception weights sha256", ("weights_sha256",)),
    ("Sample seed", ("sample_seed",)),
    ("Bootstrap replicates", ("bootstrap_replicates",)),
    ("Test split fingerprint", ("data_fingerprint_test",)),
)


def split_fingerprint_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """Columns holding the public/private split's fingerprint (``split_digest`` as scoring
    writes it, or any column with both ``split`` and ``fingerprint`` in its name)."""
    return tuple(c for c in columns if c == "split_digest" or ("split" in c and "fingerprint" in c))


def protocol(board: pd.DataFrame) -> list[tuple[str, str]]:
    """How the shown rows were measured: each field's value, or every value when rows
    differ (then they are not strictly comparable, and the page says so). A per-class field
    shows one number when the classes agree, else each class's."""
    ok = board[board[KEY_STATUS] == STATUS_OK] if KEY_STATUS in board.columns else board
    fields = [
        *PROTOCOL,
        *((f"Split fingerprint ({c})", (c,)) for c in split_fingerprint_columns(board.columns)),
    ]
    out = []
    for label, columns in fields:
        present = [c for c in columns if c in ok.columns]
        values: list[str] = []
        for _, row in ok[present].iterrows() if present else ():
            shown = [_plain(row[c]) for c in present]
            value = shown[0]
            if len(set(shown)) > 1:  # a per-class field: columns in class order
                value = ", ".join(f"{v} {n}" for v, n in zip(shown, CLASS_NAMES, strict=False))
            if value not in values:
                values.append(value)
        values = [v for v in values if v != BLANK] or [BLANK]
        out.append((label, values[0] if len(values) == 1 else "differs: " + " | ".join(values)))
    return out


def _plain(value: Any) -> str:
    """A protocol value as text: whole floats without ``.0`` (CSV integers read as floats)."""
    if isinstance(value, float):
        if math.isnan(value):
            return BLANK
        if value.is_integer():
            return str(int(value))
    return text(value)
