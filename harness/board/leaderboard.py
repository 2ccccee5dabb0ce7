"""The leaderboard: ``leaderboard/results.csv``, one row per scored run, written with pandas.

Every row says how it was measured (sample counts, image size, resizer, extractor, weights
sha256, seeds, versions, device, commit), so a number on the board can be reproduced and two
numbers can be checked for comparability. Rows are appended under an exclusive ``flock`` and
the file is replaced atomically: two ``harness score`` processes at once lose no row, and a
process killed mid-write leaves the previous file intact.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from harness.scoring.score import STATUS_OK

DEFAULT_PATH = Path("leaderboard") / "results.csv"

KEY_SCORE = "score"
KEY_STATUS = "status"
KEY_TEAM = "team"

COLUMNS: tuple[str, ...] = (
    "timestamp_utc",
    "team",
    "run_id",
    "status",
    "error",
    "score",
    "score_ci_low",
    "score_ci_high",
    "bootstrap_replicates",
    "bootstrap_mean",
    "fid_with_mask",
    "fid_without_mask",
    "fid_overall",
    "kid_with_mask",
    "kid_without_mask",
    "label_fidelity_with_mask",
    "label_fidelity_without_mask",
    "classifier_test_accuracy",
    "classifier_key",
    "n_fake_with_mask",
    "n_fake_without_mask",
    "n_real_with_mask",
    "n_real_without_mask",
    "image_size",
    "real_resizer",
    "extractor",
    "dims",
    "weights_sha256",
    "weights_source",
    "real_stats_with_mask",
    "real_stats_without_mask",
    "sample_seed",
    "train_seed",
    "epochs_trained",
    "steps_trained",
    "checkpoint",
    "used_ema",
    "dataset",
    "demo_data",
    "data_fingerprint_test",
    "device",
    "train_device",
    "torch_version",
    "pytorch_fid_version",
    "harness_version",
    "submission_commit",
    "params_source",
)

BOARD_COLUMNS: tuple[str, ...] = (
    "rank",
    "team",
    "score",
    "score_ci_low",
    "score_ci_high",
    "fid_with_mask",
    "fid_without_mask",
    "label_fidelity_with_mask",
    "label_fidelity_without_mask",
    "ahead_of_next",
    "epochs_trained",
    "n_fake_with_mask",
    "run_id",
    "status",
    "isolation",
    "train_isolation",
    "test_leak",
)


def read(path: Path = DEFAULT_PATH) -> pd.DataFrame:
    """The results table, checked against :mod:`.schema` (empty, with the schema's columns,
    when the file does not exist or is empty).

    Raises:
        BoardError: the file breaks the schema; the message names the line and column.
    """
    from harness.board.schema import read_board

    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    table = read_board(path)
    return table if len(table.columns) else pd.DataFrame(columns=list(COLUMNS))


def lock_path(path: Path) -> Path:
    """The lock file of a results CSV: hidden beside it (``.results.csv.lock``), git-ignored."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def append_rows(rows: Iterable[dict[str, Any]], path: Path = DEFAULT_PATH) -> None:
    """Append rows to the table under an exclusive lock, replacing the file atomically.

    Earlier rows stay byte for byte as they were (:mod:`.csv_append`). The file is checked
    against its schema first: a row appended to a board nobody can read would be as good as
    lost, so a broken board raises (and the caller keeps the row aside) instead.

    Raises:
        HarnessError: the board breaks its schema (naming the line and column) or the disk
            is full.
    """
    from harness.board.csv_append import append_to_csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(path), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if path.is_file():
                read(path)
            append_to_csv(path, list(rows), COLUMNS)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _best_per_team(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.sort_values(["team", KEY_SCORE, "timestamp_utc"], ascending=[True, True, False])
    return rows.drop_duplicates(subset=["team"], keep="first")


def ranked(table: pd.DataFrame, *, all_runs: bool = False) -> pd.DataFrame:
    """The board: each team's best ``ok`` row by score (every ok row with ``all_runs``) among
    the rows measured with the main protocol (:mod:`.protocol`), lowest score first; then,
    unranked, ok rows measured another way, with what differs (``not_ranked_because``); then
    teams that have only failed rows, with their latest error."""
    from harness.board.protocol import REASON, split_by_protocol
    from harness.board.references import interleave, split_references

    if table.empty:
        return pd.DataFrame(columns=list(BOARD_COLUMNS))
    table = table.reindex(columns=list(dict.fromkeys([*COLUMNS, *table.columns])))
    ok = table[table[KEY_STATUS] == STATUS_OK].copy()
    ok[KEY_SCORE] = pd.to_numeric(ok[KEY_SCORE])
    comparable, apart = split_by_protocol(ok)
    comparable, references = split_references(comparable)
    if not all_runs:
        comparable = _best_per_team(comparable)
        apart = _best_per_team(apart[~apart[KEY_TEAM].isin(comparable[KEY_TEAM])])
    comparable = comparable.sort_values(KEY_SCORE, kind="stable")
    comparable.insert(0, "rank", range(1, len(comparable) + 1))
    comparable["ahead_of_next"] = separation(comparable)
    comparable = interleave(comparable, references, KEY_SCORE)
    apart = apart.sort_values(KEY_SCORE, kind="stable")
    apart.insert(0, "rank", "-")
    failed_only = table[~table[KEY_TEAM].isin(ok[KEY_TEAM])]
    failed_only = (
        failed_only.sort_values("timestamp_utc").drop_duplicates("team", keep="last").copy()
    )
    failed_only.insert(0, "rank", "-")
    parts = [f for f in (comparable, apart, failed_only) if not f.empty]
    board = pd.concat(parts, ignore_index=True) if parts else comparable
    columns = [c for c in BOARD_COLUMNS if c in board.columns]
    if not apart.empty:
        columns.append(REASON)
    if not failed_only.empty:
        columns.append("error")
    return board[columns] if not board.empty else pd.DataFrame(columns=columns)


def separation(
    ok: pd.DataFrame, low: str = "score_ci_low", high: str = "score_ci_high"
) -> list[str]:
    """For each ranked row: is its lead over the next row real? ``yes`` when its 95% bootstrap
    interval (columns ``low``, ``high``: the board's own part) lies wholly below the next
    row's, ``no`` when they overlap, ``?`` without intervals."""
    out = []
    lows = pd.to_numeric(ok[low], errors="coerce") if low in ok else None
    highs = pd.to_numeric(ok[high], errors="coerce") if high in ok else None
    for i in range(len(ok)):
        if i == len(ok) - 1:
            out.append("")
        elif lows is None or highs is None or pd.isna(highs.iloc[i]) or pd.isna(lows.iloc[i + 1]):
            out.append("?")
        else:
            out.append("yes" if highs.iloc[i] < lows.iloc[i + 1] else "no")
    return out


_TEXT_COLUMNS = frozenset(
    {"rank", "team", "run_id", "status", "error", "ahead_of_next", "not_ranked_because"}
    | {"submission_id", "submitted_at", "source", "chosen_by", "memorised"}
    | {"public_rank", "rank_change"}
)


def _decimals(column: str) -> int:
    """Digits shown in the Markdown board: FID to 0.1, shares and KID to 0.001, counts whole."""
    if column.startswith(("label_fidelity", "kid", "classifier")) or column.startswith(
        ("memorisation", "precision", "recall", "density", "coverage")
    ):
        return 3
    if column.startswith(("n_fake", "n_real", "epochs", "steps", "image_size", "dims")):
        return 0
    return 1


def _markdown_text(value: Any) -> str:
    """A text cell of the Markdown board: safe for a spreadsheet that imports it, one line,
    and no ``|`` that would end the cell early."""
    from harness.board.cells import spreadsheet_safe

    text = spreadsheet_safe("" if pd.isna(value) else str(value))
    return " ".join(text.split()).replace("|", "\\|") if text.strip() else ""


def to_markdown(board: pd.DataFrame) -> str:
    """The board as a Markdown table (for the README): fixed decimals (powers of ten from a
    million up, :func:`~harness.board.cells.figure`), blanks for missing, every text cell safe
    for a spreadsheet, a row made under soft isolation or flagged as a test leak marked after
    its team's name, with the test-leak note under the table (:mod:`harness.board.cells`; the
    columns behind the marks are not shown)."""
    from harness.board.cells import (
        ISOLATION_COLUMNS,
        LEAK_COLUMN,
        LEAK_NOTE,
        REFERENCE_LABEL,
        REFERENCE_MEMORISED,
        figure,
        leaked,
        team_label,
    )
    from harness.board.parts import part_columns
    from harness.board.references import REFERENCE_RANK
    from harness.board.terminal import MISSING, MISSING_NOTE, board_kind

    figures = set(part_columns("public") + part_columns("private"))

    shown = board.copy()
    # On a split's boards, a ranked row without its part's figure says so: "—", never blank.
    split = board_kind(board) != "whole" and "rank" in board.columns
    ranked = board["rank"].astype(str) != "-" if split else pd.Series(False, index=board.index)
    if "team" in shown.columns:
        shown["team"] = [team_label(row) for _, row in shown.iterrows()]
    if "memorised" in shown.columns and "rank" in shown.columns:
        floor = shown["rank"].astype(str) == REFERENCE_RANK  # real photos: near train by nature
        shown["memorised"] = shown["memorised"].astype(object).where(~floor, REFERENCE_MEMORISED)
    flagged = any(leaked(row) for _, row in shown.iterrows())
    hidden = (*ISOLATION_COLUMNS, LEAK_COLUMN)
    shown = shown.drop(columns=[c for c in hidden if c in shown.columns])
    for column in shown.columns:
        if column in _TEXT_COLUMNS:
            shown[column] = [_markdown_text(v) for v in shown[column]]
            continue
        digits = _decimals(column)
        values = pd.to_numeric(shown[column], errors="coerce")
        shown[column] = [
            (MISSING if r and column in figures else "") if pd.isna(v) else figure(v, digits)
            for v, r in zip(values, ranked, strict=True)
        ]
    align = tuple("left" if c in _TEXT_COLUMNS else "right" for c in shown.columns)
    table = shown.to_markdown(index=False, disable_numparse=True, colalign=align)
    if "rank" in board.columns and (board["rank"].astype(str) == REFERENCE_RANK).any():
        table += f"\n\n{REFERENCE_RANK}: {REFERENCE_LABEL} (not a team)."
    if (shown == MISSING).to_numpy().any():
        table += f"\n\n{MISSING_NOTE}"
    return f"{table}\n\n**{LEAK_NOTE}**" if flagged else table
