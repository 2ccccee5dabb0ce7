"""The board: every scored row kept, and the ranking people read.

Takes in the rows :mod:`harness.scoring` makes. :mod:`.leaderboard` appends them to
``leaderboard/results.csv`` under a lock with an atomic replace, and ranks each team's best
comparable row, with whether each lead is outside the bootstrap intervals; :mod:`.protocol`
says which rows are comparable (same N, size, resizer, weights, dims, reference). :mod:`.boards`
makes the public and the final (private) board, :mod:`.selections` keeps each team's final
picks, :mod:`.rules` applies the daily limit and the deadline. :mod:`.schema` checks the file on
every read (text stays text; a bad cell is named by line and column), and :mod:`.sidefile`
keeps a row whose append failed beside the board. Rows from jobs on other machines arrive
through :mod:`.spool` (one file per row, merged once). Hands on the terminal table
(:mod:`.terminal`), JSON, the Markdown board, and (:mod:`.site`) a static HTML site with each
team's pictures.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PATH": "leaderboard",
    "append_or_set_aside": "sidefile",
    "read_board": "schema",
    "append_rows": "leaderboard",
    "append_to_csv": "csv_append",
    "lock_path": "leaderboard",
    "ranked": "leaderboard",
    "PROTOCOL_COLUMNS": "protocol",
    "split_by_protocol": "protocol",
    "render": "terminal",
    "read": "leaderboard",
    "to_markdown": "leaderboard",
    "write_site": "site",
    "make_row_id": "spool",
    "merge_spool": "spool",
    "spool_dir": "spool",
    "spool_row": "spool",
    "private_board": "boards",
    "public_board": "boards",
    "read_selections": "selections",
    "record_selection": "selections",
    "refusal": "rules",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
