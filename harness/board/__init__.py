"""The board: every scored row kept, and the ranking people read.

Takes in the rows :mod:`harness.scoring` makes. :mod:`.leaderboard` appends them to
``leaderboard/results.csv`` under a lock with an atomic replace, and ranks each team's best
comparable row, with whether each lead is outside the bootstrap intervals. :mod:`.boards`
makes the public and the final (private) board, :mod:`.selections` keeps each team's final
picks, :mod:`.rules` applies the daily limit and the deadline. Hands on the terminal table,
JSON and the Markdown board.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PATH": "leaderboard",
    "append_rows": "leaderboard",
    "ranked": "leaderboard",
    "read": "leaderboard",
    "to_markdown": "leaderboard",
    "private_board": "boards",
    "public_board": "boards",
    "read_selections": "selections",
    "record_selection": "selections",
    "refusal": "rules",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
