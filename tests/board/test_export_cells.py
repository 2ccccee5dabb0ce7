"""Text that reaches results.csv or the Markdown board is never a spreadsheet formula, and a
row made under soft isolation is marked on every board (terminal, Markdown, site).

Tested as a class: every text column of the results file, every first character OWASP names
(``=``, ``+``, ``-``, ``@``, tab, carriage return).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.cells import (
    FORMULA_STARTS,
    ISOLATION_COLUMNS,
    SOFT_MARK,
    csv_text,
    spreadsheet_safe,
    team_label,
)
from harness.board.schema import FLAG_COLUMNS, NUMBER_COLUMNS
from harness.board.terminal import render

# A formula behind each dangerous first character (a tab or CR first, then a formula).
PAYLOADS = {start: f"{start}cmd|' /C calc'!A0" for start in FORMULA_STARTS}
TEXT_COLUMNS = [c for c in leaderboard.COLUMNS if c not in NUMBER_COLUMNS and c not in FLAG_COLUMNS]
KEPT_AS_IS = ("team", "status", "timestamp_utc")  # the rows must stay readable and ranked


def hostile_row(payload: str, score: float = -0.5) -> dict[str, object]:
    """An ok row whose every free text column holds ``payload``; a negative score stays a number."""
    row: dict[str, object] = {c: payload for c in TEXT_COLUMNS if c not in KEPT_AS_IS}
    row.update(
        team="team1",
        status="ok",
        timestamp_utc="2026-12-04T00:00:00+00:00",
        score=score,
        fid_with_mask=-0.25,
        submission_id=payload,
        source=payload,
        isolation=payload,
    )
    return row


def dangerous(cell: str) -> bool:
    return cell.startswith(FORMULA_STARTS)


def test_the_rule_quotes_text_only() -> None:
    for start, payload in PAYLOADS.items():
        assert spreadsheet_safe(payload) == "'" + payload, repr(start)
    assert spreadsheet_safe("team2") == "team2"
    assert spreadsheet_safe(-3.5) == -3.5 and spreadsheet_safe(7) == 7


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_no_text_cell_of_results_csv_starts_a_formula(tmp_path: Path, start: str) -> None:
    board = tmp_path / "results.csv"
    leaderboard.append_rows([hostile_row("earlier", score=10.0)], board)
    before = board.read_bytes()
    leaderboard.append_rows([hostile_row(PAYLOADS[start])], board)
    after = board.read_bytes()
    assert after.startswith(before), "an earlier row was rewritten"
    records = list(csv.reader(io.StringIO(after.decode())))
    header, new = records[0], records[-1]
    cells = dict(zip(header, new, strict=True))
    for column in [*TEXT_COLUMNS, "submission_id", "source"]:
        if column in KEPT_AS_IS:
            continue
        assert cells[column] == csv_text(PAYLOADS[start]), column
        assert cells[column].startswith("'"), column
    assert not [c for c, v in cells.items() if dangerous(v) and c not in ("score", "fid_with_mask")]
    assert cells["score"] == "-0.5" and cells["fid_with_mask"] == "-0.25"  # numbers stay numbers
    table = leaderboard.read(board)  # still a readable board, the quote kept as text
    assert table["error"].iloc[-1] == csv_text(PAYLOADS[start])
    assert len(table) == 2
    assert table["score"].iloc[-1] == -0.5


def test_rows_already_on_the_board_are_read_as_they_were(tmp_path: Path) -> None:
    """The file is append-only: an old row holding a formula is not rewritten, only read."""
    board = tmp_path / "results.csv"
    board.write_text("team,status,score,error\nold,failed,,=1+1\n")
    leaderboard.append_rows([{"team": "new", "status": "failed", "error": "=2+2"}], board)
    lines = board.read_text().splitlines()
    assert lines[1] == "old,failed,,=1+1"
    assert "'=2+2" in lines[2] and ",=2+2" not in lines[2]


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_no_text_cell_of_the_markdown_board_starts_a_formula(start: str) -> None:
    payload = PAYLOADS[start]
    table = pd.DataFrame([hostile_row(payload), {**hostile_row(payload), "status": "failed"}])
    board = leaderboard.ranked(table, all_runs=True)
    board["not_ranked_because"] = payload
    text = leaderboard.to_markdown(board)
    body = text.splitlines()[2:]
    assert body, text
    for line in body:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        shown = [c for c in board.columns if c not in ISOLATION_COLUMNS]  # not shown as columns
        assert len(cells) == len(shown), line
        assert not [c for c in cells if dangerous(c) and not re.fullmatch(r"-?[0-9.]+", c)], line


def test_a_soft_row_is_marked_on_the_terminal_and_markdown_boards() -> None:
    rows = [
        {"team": "strictteam", "status": "ok", "score": 10.0, "isolation": "strict"},
        {"team": "softteam", "status": "ok", "score": 20.0, "isolation": "soft"},
        {"team": "softtrain", "status": "ok", "score": 30.0, "isolation": "strict"},
        {"team": "softfail", "status": "failed", "error": "it broke", "isolation": "soft"},
    ]
    rows[2]["train_isolation"] = "soft"  # sampled under strict, trained without a sandbox
    board = leaderboard.ranked(pd.DataFrame(rows))
    shown = render(board, width=200)
    assert "softteam" + SOFT_MARK in shown and "softtrain" + SOFT_MARK in shown
    assert "softfail" + SOFT_MARK in shown
    assert "strictteam" + SOFT_MARK not in shown and "soft isolation" in shown
    markdown = leaderboard.to_markdown(board)
    assert "softteam (soft)" in markdown and "softtrain (soft)" in markdown
    assert "strictteam (soft)" not in markdown and "strictteam" in markdown
    assert team_label({"team": "x", "isolation": "strict"}) == "x"
