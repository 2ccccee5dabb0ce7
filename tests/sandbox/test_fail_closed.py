"""Fail closed: code that is not the user's own runs strict or not at all.

Without a working bubblewrap, ``score`` and ``train --all`` (and ``validate``, ``sample``,
``tune`` under a ``competition.toml``) end in one ``error:`` line that says how to install it
or how to ask for soft by name, and write no row and no run. Asked for by name, soft runs,
says at start what it does not stop, and every row it makes says ``isolation=soft`` and is
marked on the terminal, Markdown and site boards. A team's own ``train``/``validate`` keeps
the soft fallback with its warning. Under soft the job's process group is still killed as a
whole when the job ends.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.board import leaderboard
from harness.cli import main
from harness.sandbox import isolation
from harness.sandbox.isolation import ISOLATION_ENV
from tests.conftest import write_team
from tests.sandbox.test_sandbox_attacks import (  # noqa: F401  (arena is a fixture)
    arena,
    marked_processes,
    strike,
    wait_for_no_survivors,
)

N, SIZE = 12, 16
FAILING_BWRAP = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "bubblewrap 0.0-fake"; exit 0; fi
echo "bwrap: setting up uid map: Permission denied" >&2
exit 1
"""


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def automatic_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    """No isolation asked for, and the once-per-process soft warning not yet given."""
    monkeypatch.setenv(ISOLATION_ENV, "auto")
    monkeypatch.setattr(isolation, "_warned", set())


@pytest.fixture(params=["hidden", "not_on_path", "no_namespaces"])
def no_working_bwrap(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """A machine where bubblewrap cannot sandbox: absent (hidden, or not on PATH) or unable
    to create namespaces. Returns the fix the error line must name."""
    if request.param == "hidden":
        monkeypatch.setenv("HARNESS_BWRAP", "")
        return "apt-get install bubblewrap"
    if request.param == "not_on_path":
        monkeypatch.delenv("HARNESS_BWRAP", raising=False)
        empty = tmp_path / "empty-path"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        assert shutil.which("bwrap") is None
        return "dnf install bubblewrap"
    fake = tmp_path / "bwrap"
    fake.write_text(FAILING_BWRAP)
    fake.chmod(0o755)
    monkeypatch.setenv("HARNESS_BWRAP", str(fake))
    return "unprivileged_userns_clone"


@pytest.fixture
def samples_round(tmp_path: Path, tiny_data: Path) -> dict[str, Path]:
    """A round with one samples team, its competition file and a board. Its images are 8 px
    where the round takes 16: it gets a failed row at once, with no Inception pass (minutes
    on a loaded CPU); the rules that mark a row do not ask whether it failed."""
    rng = np.random.default_rng(0)
    team = tmp_path / "submissions" / "team1"
    team.mkdir(parents=True)
    images = rng.integers(0, 256, size=(2 * N, 8, 8, 3), dtype=np.uint8)
    np.savez(team / "samples.npz", images=images, labels=np.repeat(np.arange(2), N))
    write_team(tmp_path / "submissions" / "team2")  # code: would need training, gets no row
    toml = tmp_path / "rules.toml"
    toml.write_text(f"n_per_class = {N}\nimage_size = {SIZE}\n")
    return {
        "submissions": tmp_path / "submissions",
        "data": tiny_data,
        "competition": toml,
        "board": tmp_path / "leaderboard" / "results.csv",
        "runs": tmp_path / "runs",
    }


def score_args(r: dict[str, Path]) -> list[str]:
    return [
        "score",
        "--all",
        "--submissions",
        str(r["submissions"]),
        "--data",
        str(r["data"]),
        "--runs",
        str(r["runs"]),
        "--leaderboard",
        str(r["board"]),
        "--competition",
        str(r["competition"]),
        "--no-labels",
        "--bootstrap",
        "0",
    ]


def assert_one_error_line(code: int, err: str, fix: str, what: str) -> None:
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"error: {what}"), err
    assert "needs strict isolation" in err and fix in err, err
    assert "--isolation soft or HARNESS_ISOLATION=soft" in err, err
    assert "Traceback" not in err


def test_score_without_a_working_bwrap_is_one_line_and_no_row(
    no_working_bwrap: str, samples_round: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(score_args(samples_round), capsys)
    assert_one_error_line(code, err, no_working_bwrap, "`harness score` runs teams' code")
    assert out == ""
    assert not samples_round["board"].exists() and not samples_round["runs"].exists()


def test_train_all_without_a_working_bwrap_is_one_line_and_no_run(
    no_working_bwrap: str, samples_round: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    r = samples_round
    args = ["train", "--all", "--submissions", str(r["submissions"]), "--data", str(r["data"])]
    code, _, err = run_cli([*args, "--runs", str(r["runs"]), "--max-steps", "1"], capsys)
    assert_one_error_line(code, err, no_working_bwrap, "`harness train --all` runs every team's")
    assert not r["runs"].exists()


@pytest.mark.parametrize("command", ["validate", "sample", "tune", "train"])
def test_a_competition_file_here_makes_every_team_command_fail_closed(
    command: str,
    tmp_path: Path,
    tiny_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HARNESS_BWRAP", "")
    monkeypatch.chdir(tmp_path)
    Path("competition.toml").write_text("n_per_class = 12\n")
    team = write_team(tmp_path / "submissions" / "tiny")
    args = {
        "validate": [str(team)],
        "sample": [str(team), "--runs", "runs"],
        "tune": [str(team), "--data", str(tiny_data), "--trials", "1"],
        "train": [str(team), "--data", str(tiny_data), "--runs", "runs", "--max-steps", "1"],
    }[command]
    code, _, err = run_cli([command, *args], capsys)
    assert_one_error_line(code, err, "apt-get install bubblewrap", f"`harness {command}`")
    assert "competition.toml is here" in err
    assert not Path("runs").exists() and not Path("tune").exists()


def test_a_teams_own_code_keeps_the_soft_fallback_with_its_warning(
    tiny_team: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_BWRAP", "")
    monkeypatch.chdir(tiny_team.parent)  # no competition.toml here
    code, out, err = run_cli(["validate", str(tiny_team)], capsys)
    assert code == 0 and "ok: tiny" in out
    [warning] = [line for line in err.splitlines() if "soft isolation" in line]
    assert warning.startswith("warning: soft isolation (bubblewrap (bwrap) is not installed")


def test_soft_by_name_scores_says_what_it_leaves_open_and_every_board_marks_the_row(
    samples_round: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARNESS_BWRAP", "")
    r = samples_round
    code, out, err = run_cli([*score_args(r), "--isolation", "soft"], capsys)
    assert code == 0, err  # --all: a team's failed row is not the command's failure
    gaps = [line for line in err.splitlines() if line.startswith("warning: soft isolation")]
    assert len(gaps) == 1, err
    for gap in ("held-out test set", "signal or kill the harness", "setsid", "write wherever"):
        assert gap in gaps[0]
    assert err.index(gaps[0]) < err.index("team1"), "the warning comes at start"
    [row] = leaderboard.read(r["board"]).to_dict(orient="records")
    assert row["team"] == "team1" and row["status"] == "failed" and row["isolation"] == "soft"
    assert "16 x 16" in row["error"]
    assert "team1 (soft)" in out
    markdown, site = r["board"].parent / "board.md", r["board"].parent / "site"
    args = ["leaderboard", "--leaderboard", str(r["board"]), "--markdown", str(markdown)]
    code, out, _ = run_cli(
        [*args, "--html", str(site), "--submissions", str(r["submissions"])], capsys
    )
    assert code == 0
    assert "team1 (soft)" in out and "team1 (soft)" in markdown.read_text()
    assert "soft-isolation" in (site / "index.html").read_text()


def test_strict_rows_are_not_marked(tmp_path: Path) -> None:
    board = tmp_path / "results.csv"
    leaderboard.append_rows(
        [{"team": "team1", "status": "ok", "score": 5.0, "isolation": "strict"}], board
    )
    assert "(soft)" not in leaderboard.to_markdown(leaderboard.ranked(leaderboard.read(board)))


def test_soft_still_kills_the_jobs_process_group_when_it_ends(
    arena,  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A grandchild that stays in the job's process group, orphaned when the worker dies
    without cleaning up (os._exit), is still killed: the group goes as a whole."""
    monkeypatch.setenv(ISOLATION_ENV, "soft")
    with marked_processes() as marker:
        with pytest.raises(Exception, match="exited with code 0 before reporting a result"):
            strike(arena, "orphan_in_group", "validate", marker, None, monkeypatch)  # type: ignore[arg-type]
        assert not wait_for_no_survivors(marker, timeout_s=5.0), "a process of the job survived"


def test_cluster_jobs_of_others_code_are_told_to_run_strict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cluster nodes resolve the isolation themselves: for code that is not the user's own
    they are told strict, so a node without bwrap fails closed instead of falling back."""
    from harness.sandbox.isolation import isolation_for_workers

    monkeypatch.setenv("HARNESS_BWRAP", "")  # this machine's bwrap does not matter
    isolation_for_workers(None)
    assert os.environ[ISOLATION_ENV] == "auto"
    isolation_for_workers(None, others_code="`harness tune` runs a team's code here")
    assert os.environ[ISOLATION_ENV] == "strict"
    isolation_for_workers("soft", others_code="`harness tune` runs a team's code here")
    assert os.environ[ISOLATION_ENV] == "soft"
