"""The board: every scored row kept, and the ranking people read.

Takes in the rows :mod:`harness.scoring` makes. :mod:`.leaderboard` appends them to
``leaderboard/results.csv`` under a lock with an atomic replace, and ranks each team's best
comparable row, with whether each lead is outside the bootstrap intervals. :mod:`.schema`
checks the file on every read (text stays text; a bad cell is named by line and column), and
:mod:`.sidefile` keeps a row whose append failed beside the board. Hands on the terminal
table, JSON and the Markdown board.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PATH": "leaderboard",
    "append_or_set_aside": "sidefile",
    "read_board": "schema",
    "append_rows": "leaderboard",
    "ranked": "leaderboard",
    "read": "leaderboard",
    "to_markdown": "leaderboard",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
