"""A team's submission history as a plot: its score at each scoring, with the interval.

Re-submitting is how a team learns, and how it overfits the board; the plot shows both. It is
drawn with matplotlib from the rows the page may show (on the public site the private columns
are already gone), so it can hold no number that the page itself could not.

A single scored submission gets no plot: the table under it says all there is, and a lone
point made matplotlib span its time axis over years. With several, the time axis spans the
submissions themselves (an hour at least), and the row on the board is named by a label beside
its star, not by a legend whose marker would read as one more point.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.board.site.views import numeric
from harness.scoring.score import STATUS_OK

MIN_SPAN = pd.Timedelta(hours=1)  # the time axis never spans less (two scorings a second apart)

WHEN_COLUMNS = ("submitted_at", "timestamp_utc")


def when(rows: pd.DataFrame) -> pd.Series:
    """When each row was submitted: ``submitted_at`` (competition mode) where the row has it,
    else the time it was scored."""
    times = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]")
    for column in reversed(WHEN_COLUMNS):
        if column in rows.columns:
            parsed = pd.to_datetime(rows[column], utc=True, errors="coerce")
            times = parsed.where(parsed.notna(), times)
    return times


def time_window(times: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The time axis's ends: the submissions' span with a margin, :data:`MIN_SPAN` at least,
    so that the axis says when the team submitted rather than matplotlib's default years."""
    start, end = times.min(), times.max()
    pad = max((end - start) * 0.08, (MIN_SPAN - (end - start)) / 2)
    return start - pad, end + pad


def plot_history(
    rows: pd.DataFrame, *, score_column: str, best_index: object, out: Path, label: str = "score"
) -> tuple[int, int] | None:
    """Draw the team's ``ok`` rows' ``score_column`` (called ``label`` on the axis) against
    time into ``out`` (PNG); the row on the board (``best_index``) is marked. Returns the pixel
    size, or None (nothing written) when fewer than two rows have a score and a time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    ok = rows[rows["status"] == STATUS_OK].copy() if "status" in rows.columns else rows.copy()
    ok["when"] = when(ok)
    ok["value"] = numeric(ok, score_column)
    ok = ok.dropna(subset=["when", "value"]).sort_values("when")
    if len(ok) < 2:
        return None
    ends = ("score_ci_low", "score_ci_high")
    if score_column != "score":
        ends = (f"{score_column}_ci_low", f"{score_column}_ci_high")
    low, high = (numeric(ok, column) for column in ends)
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=100)
    times = ok["when"].dt.tz_convert(None)
    if low.notna().any() and high.notna().any():
        ax.errorbar(
            times,
            ok["value"],
            yerr=[(ok["value"] - low).clip(lower=0), (high - ok["value"]).clip(lower=0)],
            fmt="none",
            ecolor="#9cc3ec",
            elinewidth=6,
        )
    ax.plot(times, ok["value"], "-o", color="#0b3d75", markersize=4, linewidth=1)
    if best_index in ok.index:
        best = (times[best_index], ok.loc[best_index, "value"])
        ax.plot([best[0]], [best[1]], "*", color="#d97706", markersize=14)
        right_half = best[0] > times.min() + (times.max() - times.min()) / 2
        ax.annotate(  # the label faces the middle, so it stays inside the plot
            "on the board",
            best,
            xytext=(-12 if right_half else 12, 0),
            textcoords="offset points",
            ha="right" if right_half else "left",
            va="center",
            color="#7c4a03",
        )
    ax.set_ylabel(f"{label} (lower is better)")
    ax.set_xlim(*time_window(times))
    locator = mdates.AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    # Fixed margins, not tight_layout: it drew every figure twice, a third of a 30-team build.
    fig.subplots_adjust(left=0.12, right=0.97, top=0.95, bottom=0.2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    size = fig.canvas.get_width_height()
    plt.close(fig)
    return size
