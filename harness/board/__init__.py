"""The board: every scored row kept, and the ranking people read.

Takes in the rows :mod:`harness.scoring` makes. :mod:`.leaderboard` appends them to
``leaderboard/results.csv`` under a lock with an atomic replace, and ranks each team's best
comparable row, with whether each lead is outside the bootstrap intervals. Rows from jobs on
other machines arrive through :mod:`.spool` (one file per row, merged once). Hands on the
terminal table, JSON and the Markdown board.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PATH": "leaderboard",
    "append_rows": "leaderboard",
    "ranked": "leaderboard",
    "read": "leaderboard",
    "to_markdown": "leaderboard",
    "make_row_id": "spool",
    "merge_spool": "spool",
    "spool_dir": "spool",
    "spool_row": "spool",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
