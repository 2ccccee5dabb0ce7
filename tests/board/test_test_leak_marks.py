"""A row flagged ``test_leak`` carries a red flag on every board: terminal, Markdown (whole-test,
public and final boards) and the site's index and team pages; the site never shows its samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.board import boards, leaderboard
from harness.board.cells import LEAK_MARK, LEAK_NOTE, leaked, team_label
from harness.board.schema import read_board
from harness.board.site.build import write_site
from harness.board.terminal import render
from harness.errors import BoardError

BASE = {"timestamp_utc": "2026-01-01T00:00:00", "status": "ok"}


def rows(split: str = "") -> pd.DataFrame:
    """Three ok rows; with ``split``, scored with that public/private split."""
    scores = {"honest": 30.0, "copier": 0.1, "older": 40.0}
    leaks = {"honest": False, "copier": True, "older": None}  # older: before the check
    table = pd.DataFrame(
        [
            {**BASE, "team": t, "score": v, "score_public": v + 1, "score_private": v + 2}
            | ({"test_leak": leaks[t]} if leaks[t] is not None else {})
            for t, v in scores.items()
        ]
    )
    return table.assign(split_digest=split) if split else table


def test_the_flag_is_read_from_the_file_as_a_flag(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    leaderboard.append_rows(rows().to_dict("records"), results)
    table = read_board(results)
    assert list(table["test_leak"].fillna("blank")) == [False, True, "blank"]
    assert [leaked(r) for _, r in table.iterrows()] == [False, True, False]
    text = results.read_text().replace("True", "maybe", 1)
    results.write_text(text)
    with pytest.raises(BoardError, match="column test_leak: 'maybe' is not True or False"):
        read_board(results)


def test_terminal_and_markdown_boards_mark_the_leak() -> None:
    whole = leaderboard.ranked(rows())
    public = boards.public_board(rows("s1"))
    final = boards.private_board(rows("s1"), {}, k=2)
    for board in (whole, boards.public_board(rows()), public, final):
        shown = render(board, width=200)
        assert "copier" + LEAK_MARK in shown and "honest" + LEAK_MARK not in shown
        assert "older" + LEAK_MARK not in shown and " ".join(LEAK_NOTE.split()[:6]) in shown
        markdown = leaderboard.to_markdown(board)
        assert "copier" + LEAK_MARK in markdown and LEAK_NOTE in markdown
        assert "| test_leak" not in markdown  # the mark, not a column of True/False
    clean = leaderboard.ranked(rows().iloc[[0, 2]])
    assert LEAK_NOTE not in leaderboard.to_markdown(clean)
    assert "TEST LEAK" not in render(clean, width=200)
    assert team_label({"team": "x", "test_leak": "True", "isolation": "soft"}) == (
        "x (soft)" + LEAK_MARK
    )


def test_the_site_flags_the_leak_and_withholds_its_samples(tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    for team in ("honest", "copier"):
        images = np.full((4, 16, 16, 3), 90, np.uint8)
        (subs / team).mkdir(parents=True)
        np.savez(subs / team / "samples.npz", images=images, labels=np.array([0, 0, 1, 1]))
    table = rows().iloc[:2].assign(source="samples")
    site = tmp_path / "site"
    write_site(site, table, runs_root=tmp_path / "runs", submissions=subs)
    index = (site / "index.html").read_text()
    assert index.count('class="badge bad test-leak"') == 1
    copier = (site / "teams" / "copier.html").read_text()
    honest = (site / "teams" / "honest.html").read_text()
    assert "Test leak: these samples sit on held-out test images" in copier
    assert "Test leak" not in honest
    assert "withheld, because this row is a test leak" in copier
    assert not (site / "teams" / "copier").exists() or not list(
        (site / "teams" / "copier").glob("with_mask*")
    )
    assert list((site / "teams" / "honest").glob("with_mask*"))
    assert not (site / "thumbs" / "copier.webp").exists()
