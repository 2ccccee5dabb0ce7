"""The board at a terminal: a rich table rounded like the Markdown board, the rest folded below.

``DataFrame.to_string`` printed every float to six decimals (727.071002), ``NaN`` for what a
row does not have, an error column as wide as the longest traceback line and an empty cell for
the last row's ``ahead_of_next``. Here the ranked rows form one table with the Markdown
board's rounding (FID to 0.1, shares to 0.001, counts whole) and the 95% interval in one cell;
rows measured with another protocol, and teams that only failed, follow as one line each,
with the reason.
"""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Callable

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from harness.board.protocol import REASON

# (header, how a ranked row shows it); the columns are those of leaderboard.BOARD_COLUMNS.
Cell = Callable[[pd.Series], str]


def _number(value: object, digits: int) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "" if pd.isna(number) else f"{number:.{digits}f}"


def _interval(row: pd.Series) -> str:
    low, high = _number(row.get("score_ci_low"), 1), _number(row.get("score_ci_high"), 1)
    return f"[{low}, {high}]" if low and high else ""


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


RANKED_CELLS: tuple[tuple[str, Cell], ...] = (
    ("rank", lambda r: _text(r.get("rank"))),
    ("team", lambda r: _text(r.get("team"))),
    ("score", lambda r: _number(r.get("score"), 1)),
    ("95% interval", _interval),
    ("FID\nwith_mask", lambda r: _number(r.get("fid_with_mask"), 1)),
    ("FID\nwithout_mask", lambda r: _number(r.get("fid_without_mask"), 1)),
    ("labels\nwith_mask", lambda r: _number(r.get("label_fidelity_with_mask"), 3)),
    ("labels\nwithout_mask", lambda r: _number(r.get("label_fidelity_without_mask"), 3)),
    ("ahead\nof next", lambda r: _text(r.get("ahead_of_next")) or "-"),
    ("epochs", lambda r: _number(r.get("epochs_trained"), 0)),
    ("N per\nclass", lambda r: _number(r.get("n_fake_with_mask"), 0)),
    ("run", lambda r: _text(r.get("run_id"))),
)
LEFT = {"rank", "team", "ahead\nof next", "run"}
CAPTION = (
    "score = FID(with_mask) + FID(without_mask), lower wins. labels: the share of a class's "
    "samples that the mask classifier assigns to that class. ahead of next: the 95% interval "
    "lies wholly below the next row's."
)


def _ranked_table(rows: pd.DataFrame) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    for header, _ in RANKED_CELLS:
        table.add_column(header, justify="left" if header in LEFT else "right", no_wrap=True)
    for _, row in rows.iterrows():
        table.add_row(*(cell(row) for _, cell in RANKED_CELLS))
    return table


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 3)] + "..."


def render(board: pd.DataFrame, width: int | None = None) -> str:
    """The board (as :func:`harness.board.leaderboard.ranked` returns it) as terminal text.

    Args:
        board: ranked rows, then unranked ok rows (``not_ranked_because``), then failed teams.
        width: characters per line (default: the terminal's width, at least 100).
    """
    width = width or max(120, shutil.get_terminal_size((120, 24)).columns)
    if board.empty:
        return "no rows yet"
    is_ranked = board["rank"].astype(str) != "-"
    has_reason = board[REASON].notna() if REASON in board else pd.Series(False, index=board.index)
    has_reason &= ~is_ranked
    failed = ~is_ranked & ~has_reason
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    lines = []
    if is_ranked.any():
        console.print(_ranked_table(board[is_ranked]))
        lines += textwrap.wrap(CAPTION, width)
    else:
        lines.append("no ok rows to rank")
    if has_reason.any():
        lines += ["", "not ranked, not comparable with the rows above:"]
        for _, row in board[has_reason].iterrows():
            text = (
                f"{row['team']} (run {_text(row.get('run_id'))}): score "
                f"{_number(row['score'], 1)}, {row[REASON]}"
            )
            lines += textwrap.wrap(
                text, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False
            )
    if failed.any():
        lines += ["", "failed (teams with no ok row; their latest error):"]
        for _, row in board[failed].iterrows():
            team, run, error = str(row["team"]), _text(row.get("run_id")), _text(row.get("error"))
            error = error.removeprefix(f"{team}: ")  # errors often start with the team's name
            head = f"  {team}{f' (run {run})' if run else ''}: "
            lines.append(head + _one_line(error, width - len(head)))
    table_text = "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n")
    return "\n".join([table_text, "", *lines]) if table_text else "\n".join(lines).strip("\n")
