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

from harness.board.cells import (
    LEAK_NOTE,
    REFERENCE_LABEL,
    REFERENCE_MEMORISED,
    SOFT_NOTE,
    figure,
    leaked,
    team_label,
    unprotected,
)
from harness.board.protocol import REASON
from harness.board.references import REFERENCE_RANK

# (header, how a ranked row shows it); the columns are those of leaderboard.BOARD_COLUMNS.
Cell = Callable[[pd.Series], str]


def _number(value: object, digits: int) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "" if pd.isna(number) else figure(float(number), digits)


def _interval_of(score: str) -> Cell:
    """The 95% interval of ``score`` (``score``, ``score_public``, ...) in one cell."""

    def cell(row: pd.Series) -> str:
        low = _number(row.get(f"{score}_ci_low"), 1)
        high = _number(row.get(f"{score}_ci_high"), 1)
        return f"[{low}, {high}]" if low and high else ""

    return cell


_interval = _interval_of("score")


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _num(column: str, digits: int) -> Cell:
    return lambda r: _number(r.get(column), digits)


def _per_class(
    header: str, prefix: str, digits: int, short: bool = False
) -> tuple[tuple[str, Cell], ...]:
    names = {"with_mask": "mask", "without_mask": "no mask"}
    return tuple(
        (f"{header}\n{names[name] if short else name}", _num(f"{prefix}_{name}", digits))
        for name in ("with_mask", "without_mask")
    )


def _mifid(column: str) -> Cell:
    """MiFID to 0.1, or in powers of ten when a memorised class sends it past a million."""
    return _num(column, 1)


def _memorised(row: pd.Series) -> str:
    """``yes``, ``no``, or ``not measured``: a row scored with ``--no-memorisation`` (or
    before the check existed) has a blank ``memorised``, which must never read as "no"."""
    value = row.get("memorised")
    if str(row.get("rank")) == REFERENCE_RANK:
        return REFERENCE_MEMORISED  # the floor is real photos: near train by nature
    measured = str(row.get("memorisation_measured")).strip().lower()
    if measured in ("false", "0") or _text(value) == "":
        return "not measured"
    return "yes" if str(value).strip().lower() in ("true", "1") else "no"


_RANK_TEAM: tuple[tuple[str, Cell], ...] = (
    ("rank", lambda r: _text(r.get("rank"))),
    ("team", team_label),  # marked "(soft)" when made under soft isolation
)
_LABELS = _per_class("labels", "label_fidelity", 3)
RANKED_CELLS: tuple[tuple[str, Cell], ...] = (
    *_RANK_TEAM,
    ("score", _num("score", 1)),
    ("95% interval", _interval),
    *_per_class("FID", "fid", 1),
    *_LABELS,
    ("ahead\nof next", lambda r: _text(r.get("ahead_of_next")) or "-"),
    ("epochs", _num("epochs_trained", 0)),
    ("N per\nclass", _num("n_fake_with_mask", 0)),
    ("run", lambda r: _text(r.get("run_id"))),
)
# The public board (a public/private split exists): numbers computed without the private part.
PUBLIC_CELLS: tuple[tuple[str, Cell], ...] = (
    *_RANK_TEAM,
    ("public\nscore", _num("score_public", 1)),
    ("95% interval", _interval_of("score_public")),
    ("ahead\nof next", lambda r: _text(r.get("ahead_of_next"))),
    ("public\nMiFID", _mifid("mifid_public")),
    *_per_class("FID pub", "fid_public", 1, short=True),
    *_per_class("cover pub", "coverage_public", 3, short=True),
    *_per_class("labels", "label_fidelity", 3, short=True),
    ("memo-\nrised", _memorised),
    ("epochs", _num("epochs_trained", 0)),
    ("source", lambda r: _text(r.get("source"))),
    ("submission", lambda r: _text(r.get("submission_id"))),
)
# The final board: private scores of the chosen submissions.
PRIVATE_CELLS: tuple[tuple[str, Cell], ...] = (
    *_RANK_TEAM,
    ("private\nscore", _num("score_private", 1)),
    ("95% interval", _interval_of("score_private")),
    ("ahead\nof next", lambda r: _text(r.get("ahead_of_next"))),
    ("private\nMiFID", _mifid("mifid_private")),
    *_per_class("FID priv", "fid_private", 1, short=True),
    ("public\nscore", _num("score_public", 1)),
    ("public\nrank", lambda r: _text(r.get("public_rank"))),
    ("change", lambda r: _text(r.get("rank_change"))),
    *_per_class("cover priv", "coverage_private", 3, short=True),
    ("memo-\nrised", _memorised),
    ("chosen by", lambda r: _text(r.get("chosen_by"))),
    ("submission", lambda r: _text(r.get("submission_id"))),
)
LEFT = {
    "rank",
    "team",
    "ahead\nof next",
    "run",
    "source",
    "submission",
    "chosen by",
    "memo-\nrised",
    "public\nrank",
    "change",
}
CAPTION = (
    "score = FID(with_mask) + FID(without_mask), lower wins. labels: the share of a class's "
    "samples that the mask classifier assigns to that class. ahead of next: the 95% interval "
    "lies wholly below the next row's."
)
REFERENCE_NOTE = f"{REFERENCE_RANK}: {REFERENCE_LABEL} (not a team)."
PUBLIC_CAPTION = (
    "public board: FID(with_mask) + FID(without_mask) against the public part of the held-out "
    "images, lower wins; every number here is the public part's, none uses the private part. "
    "ahead of next: the 95% interval lies wholly below the next row's. MiFID = FID / "
    "memorisation distance when a class is under the threshold (memorised). " + REFERENCE_NOTE
)
PRIVATE_CAPTION = (
    "final board: each team's best private score among its selected submissions, or among its "
    "K best public ones when it selected none (chosen by); every number is the private part's "
    "but the public score and rank; change: places moved since the public board. " + REFERENCE_NOTE
)


def board_kind(board: pd.DataFrame) -> str:
    """``private`` (the final board), ``public`` (a split's public board) or ``whole`` (the
    whole-test board), from the columns the board functions give each."""
    if "score_private" in board or "chosen_by" in board:
        return "private"
    if "score_public" in board:
        return "public"
    return "whole"


MISSING = "—"
# Headers of the cells that hold a figure of the board's part (the rest: text, labels, counts).
PART_FIGURES = frozenset(
    h
    for h, _ in (*PUBLIC_CELLS, *PRIVATE_CELLS)
    if any(w in h for w in ("score", "interval", "MiFID", "FID", "cover"))
)
MISSING_NOTE = (
    "—: this row has no figure of this board's part there (scored before it was measured)."
)


def _or_missing(cell: Cell) -> Cell:
    """A number cell that says "—" where the row lacks this part's figure, never blank (a
    blank could pass for a figure left out on purpose)."""
    return lambda row: cell(row) or MISSING


def _cells(kind: str, board: pd.DataFrame) -> tuple[tuple[str, Cell], ...]:
    if kind == "whole":
        return RANKED_CELLS
    cells = PRIVATE_CELLS if kind == "private" else PUBLIC_CELLS
    # A column none of the rows has (no labels, no MiFID) is left out rather than shown blank.
    kept = tuple((h, c) for h, c in cells if any(c(r) for _, r in board.iterrows()))
    return tuple((h, _or_missing(c) if h in PART_FIGURES else c) for h, c in kept)


def _ranked_table(rows: pd.DataFrame, cells: tuple[tuple[str, Cell], ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    for header, _ in cells:
        table.add_column(header, justify="left" if header in LEFT else "right", no_wrap=True)
    for _, row in rows.iterrows():
        table.add_row(*(cell(row) for _, cell in cells))
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
    status = board["status"].astype(str) if "status" in board else pd.Series("", index=board.index)
    rest = ~is_ranked & ~has_reason
    failed = rest & (status != "ok")
    elsewhere = rest & (status == "ok")  # ok rows this board does not rank (another split)
    kind = board_kind(board)
    score_column = {"whole": "score", "public": "score_public", "private": "score_private"}[kind]
    caption = {"whole": CAPTION, "public": PUBLIC_CAPTION, "private": PRIVATE_CAPTION}[kind]
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    lines = []
    if is_ranked.any():
        cells = _cells(kind, board[is_ranked])
        console.print(_ranked_table(board[is_ranked], cells))
        lines += textwrap.wrap(caption, width)
        shown = [cell(row) for _, row in board[is_ranked].iterrows() for _, cell in cells]
        if kind != "whole" and MISSING in shown:
            lines += textwrap.wrap(MISSING_NOTE, width)
    else:
        lines.append("no ok rows to rank")
    if has_reason.any():
        lines += ["", "not ranked, not comparable with the rows above:"]
        for _, row in board[has_reason].iterrows():
            text = (
                f"{team_label(row)} (run {_text(row.get('run_id'))}): {score_column} "
                f"{_number(row.get(score_column), 1)}, {row[REASON]}"
            )
            lines += textwrap.wrap(
                text, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False
            )
    if elsewhere.any():
        lines += ["", "not on this board:"]
        for _, row in board[elsewhere].iterrows():
            head = f"  {team_label(row)}: "
            lines.append(head + _one_line(_text(row.get("error")), width - len(head)))
    if failed.any():
        lines += ["", "failed (teams with no ok row; their latest error):"]
        for _, row in board[failed].iterrows():
            team, run, error = str(row["team"]), _text(row.get("run_id")), _text(row.get("error"))
            error = error.removeprefix(f"{team}: ")  # errors often start with the team's name
            head = f"  {team_label(row)}{f' (run {run})' if run else ''}: "
            lines.append(head + _one_line(error, width - len(head)))
    if any(unprotected(row) for _, row in board.iterrows()):
        lines += ["", *textwrap.wrap(SOFT_NOTE, width)]
    if any(leaked(row) for _, row in board.iterrows()):
        lines += ["", *textwrap.wrap(LEAK_NOTE, width)]
    table_text = "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n")
    return "\n".join([table_text, "", *lines]) if table_text else "\n".join(lines).strip("\n")
