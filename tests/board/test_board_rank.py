"""The board: only rows measured the same way are ranked; the terminal table is readable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.terminal import render
from harness.cli import main

PROTOCOL = {
    "n_fake_with_mask": 1000,
    "n_fake_without_mask": 1000,
    "n_real_with_mask": 850,
    "n_real_without_mask": 909,
    "image_size": 64,
    "real_resizer": "center-square-crop+pil-bicubic-antialias",
    "dims": 2048,
    "weights_sha256": "f91d46f5" * 8,
    "real_stats_with_mask": "0402ec1454d3c6c3bf8b506d",
    "real_stats_without_mask": "b37f2e78c9f28cf4f0aa9c3c",
}


def row(team: str, score: float, run: str = "r1", **changes: object) -> dict[str, object]:
    return {
        "timestamp_utc": f"2026-12-01T00:00:0{len(run)}",
        "team": team,
        "run_id": run,
        "status": "ok",
        "score": score,
        "score_ci_low": score - 2.0,
        "score_ci_high": score + 2.0,
        "fid_with_mask": score * 0.6,
        "fid_without_mask": score * 0.4,
        "epochs_trained": 10,
        **PROTOCOL,
        **changes,
    }


FEWER_SAMPLES = {"n_fake_with_mask": 200, "n_fake_without_mask": 200}


def test_only_rows_with_the_same_protocol_are_ranked() -> None:
    table = pd.DataFrame(
        [
            row("a", 500.0),
            row("b", 520.0),
            row("e", 600.0),
            row("b", 400.0, run="r22", **FEWER_SAMPLES),  # better only because N differs
            row("c", 450.0, **FEWER_SAMPLES),  # no row at the main protocol
            row("d", 300.0, image_size=32),
        ]
    )
    every = leaderboard.ranked(table, all_runs=True)
    ranked = every[every["rank"] != "-"]
    assert list(zip(ranked["rank"], ranked["team"], strict=True)) == [(1, "a"), (2, "b"), (3, "e")]
    apart = every[every["rank"] == "-"].set_index("run_id")
    assert list(apart["team"]) == ["d", "b", "c"], "unranked rows follow, lowest score first"
    reason = apart.loc["r22", "not_ranked_because"]
    assert "n_fake_with_mask 200 (ranked rows: 1000)" in reason and "image_size" not in reason
    assert "image_size 32 (ranked rows: 64)" in apart.loc[apart["team"] == "d"].iloc[0, -1]
    # Each team's best row: b's 200-sample row is not shown, c's is, apart.
    best = leaderboard.ranked(table)
    assert list(zip(best["rank"], best["team"], strict=True)) == [
        (1, "a"),
        (2, "b"),
        (3, "e"),
        ("-", "d"),
        ("-", "c"),
    ]
    assert best["ahead_of_next"].tolist()[:3] == ["yes", "yes", ""]


def test_the_protocol_of_most_teams_is_ranked_and_blanks_are_a_protocol_too() -> None:
    table = pd.DataFrame(
        [row("a", 10.0, **FEWER_SAMPLES), row("b", 20.0, **FEWER_SAMPLES), row("c", 5.0)]
    )
    board = leaderboard.ranked(table)
    assert board.loc[board["rank"] != "-", "team"].tolist() == ["a", "b"]
    old = pd.DataFrame(
        [
            {"timestamp_utc": "t", "team": t, "status": "ok", "score": s}
            for t, s in (("x", 2), ("y", 1))
        ]
    )
    assert leaderboard.ranked(old)["rank"].tolist() == [1, 2], "rows that record nothing still rank"


def test_the_terminal_board_is_rounded_and_folds_failures_below() -> None:
    failed = {
        "timestamp_utc": "2026-12-01T00:00:09",
        "team": "z",
        "status": "failed",
        "error": "z: sample: the generator produced NaN " + "and a very long explanation " * 20,
    }
    table = pd.DataFrame(
        [row("a", 727.071002), row("b", 800.5), row("c", 400.0, **FEWER_SAMPLES), failed]
    )
    text = render(leaderboard.ranked(table, all_runs=True), width=120)
    lines = text.splitlines()
    assert all(len(line) <= 120 for line in lines), max(map(len, lines))
    a_line = next(line for line in lines if line.startswith("1 "))
    assert "727.1" in a_line and "727.071002" not in text and "[725.1, 729.1]" in a_line
    assert "nan" not in text.lower().replace("produced nan", "")
    b_line = next(line for line in lines if line.startswith("2 "))
    assert b_line.split()[-4] == "-", "the last ranked row's 'ahead of next' is a dash, not blank"
    failure = [line for line in lines if line.startswith("  z: ")]
    assert len(failure) == 1 and failure[0].startswith("  z: sample: the generator produced NaN")
    assert failure[0].endswith("...")
    assert any("c (run r1): score 400.0, measured another way" in line for line in lines)


def test_leaderboard_command_prints_the_table_and_json_keeps_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([row("a", 500.0), row("c", 450.0, **FEWER_SAMPLES)], path)
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(path)])
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["FID", "FID"] and "500.0" in out
    with pytest.raises(SystemExit):
        main(["leaderboard", "--leaderboard", str(path), "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in shown] == [1, "-"]
    assert shown[1]["not_ranked_because"].startswith("measured another way: n_fake_with_mask 200")
