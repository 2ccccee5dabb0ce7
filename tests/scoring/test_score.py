"""Sampling checks, scoring one team and all teams, failures, the leaderboard file."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.board import leaderboard
from harness.cli import main
from harness.errors import HarnessError, SampleError, TeamCodeError
from harness.scoring.sample import check_samples, sample_team
from harness.scoring.score import Scorer, ScoreSettings
from harness.training.train import train_team
from tests.conftest import write_team

FAST = ScoreSettings(
    n_per_class=10, seed=0, bootstrap=20, kid_subsets=5, kid_subset_size=8, dims=64, device="cpu"
)


def save_samples(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    np.savez(path, images=images, labels=labels)
    return path


def good_arrays(n: int = 4, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 256, (2 * n, size, size, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(2, dtype=np.int64), n)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda im, lb: (im.astype(np.float32), lb), "dtype float32, expected uint8"),
        (lambda im, lb: (im[:, :4], lb), r"shape \(8, 4, 8, 3\), expected \[N, 8, 8, 3\]"),
        (lambda im, lb: (im[1:], lb[1:]), "3 samples of with_mask, expected 4"),
        (lambda im, lb: (im, lb.astype(np.int32)), "labels must be int64"),
        (lambda im, lb: (im, np.where(lb == 1, 5, lb)), "labels outside 0..1"),
        (
            lambda im, lb: (np.concatenate([im[:1] * 0 + 7, im[1:]]), lb),
            "1 of 8 samples are constant images",
        ),
    ],
)
def test_bad_samples_are_rejected_with_the_fault_named(
    tmp_path: Path, change, message: str
) -> None:  # type: ignore[no-untyped-def]
    images, labels = change(*good_arrays())
    path = save_samples(tmp_path / "s.npz", images, labels)
    with pytest.raises(SampleError, match=f"^teamX: .*{message}"):
        check_samples(path, n_per_class=4, size=8, team="teamX")


def test_good_samples_pass(tmp_path: Path) -> None:
    path = save_samples(tmp_path / "s.npz", *good_arrays())
    images, labels = check_samples(path, n_per_class=4, size=8, team="teamX")
    assert images.shape == (8, 8, 8, 3) and labels.tolist() == [0] * 4 + [1] * 4


def test_unreadable_samples_file(tmp_path: Path) -> None:
    (tmp_path / "s.npz").write_bytes(b"junk")
    with pytest.raises(SampleError, match="unreadable"):
        check_samples(tmp_path / "s.npz", n_per_class=4, size=8, team="teamX")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path) -> tuple[Path, Path]:
    """A trained tiny team (teams: tiny = good, broken = fails at import) and its runs folder."""
    base = tmp_path_factory.mktemp("competition")
    good = write_team(base / "submissions" / "tiny")
    runs_root = base / "runs"
    train_team(
        good, data_root=tiny_data, runs_root=runs_root, overrides={"epochs": 2}, image_size=16
    )
    return base / "submissions", runs_root


def test_sample_writes_checked_npz_and_grid(trained: tuple[Path, Path]) -> None:
    submissions, runs_root = trained
    result = sample_team(submissions / "tiny", runs_root=runs_root, n_per_class=6, seed=3)
    assert result.images.shape == (12, 16, 16, 3) and result.used_ema
    assert result.path.with_suffix(".png").is_file()
    again = sample_team(submissions / "tiny", runs_root=runs_root, n_per_class=6, seed=3)
    assert np.array_equal(again.images, result.images), "same seed, same samples"


def test_nan_from_the_generator_is_named(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, runs_root = trained
    nan_team = write_team(
        tmp_path / "nanny",
        {
            "        return torch.tanh(": "        if not self.training:\n            return z.sum() * float('nan') + torch.zeros(len(z), 3, SIZE, SIZE)\n        return torch.tanh("
        },
    )
    # Borrow the good team's trained run for this team's name.
    (runs_root / "nanny").symlink_to(runs_root / "tiny")
    with pytest.raises(
        TeamCodeError, match="nanny: the generator produced NaN or infinite values for with_mask"
    ):
        sample_team(nan_team, runs_root=runs_root, n_per_class=4)


def test_score_all_scores_good_teams_and_records_failures(
    trained: tuple[Path, Path],
    tiny_data: Path,
    tmp_path: Path,
    fid_weights,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    submissions, runs_root = trained
    competition = tmp_path / "submissions"
    competition.mkdir()
    (competition / "tiny").symlink_to(submissions / "tiny")
    write_team(competition / "broken", {"import torch\n": "import torch\nimport not_a_module\n"})
    write_team(competition / "untrained")
    if not (runs_root / "broken").exists():
        (runs_root / "broken").symlink_to(runs_root / "tiny")  # a trained run whose code now breaks
    board_path = tmp_path / "results.csv"
    args = [
        "score",
        "--all",
        "--submissions",
        str(competition),
        "--data",
        str(tiny_data),
        "--runs",
        str(runs_root),
        "--n",
        "10",
        "--bootstrap",
        "20",
        "--leaderboard",
        str(board_path),
        "--json",
        "--device",
        "cpu",
    ]
    import harness.scoring.score as score_module

    original = score_module.ScoreSettings
    score_module.ScoreSettings = lambda **kw: original(
        **{**kw, "dims": 64, "kid_subsets": 5, "kid_subset_size": 8}
    )  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit) as info:
            main(args)
    finally:
        score_module.ScoreSettings = original  # type: ignore[assignment]
    assert info.value.code == 0
    out, err = capsys.readouterr()
    rows = {r["team"]: r for r in json.loads(out)}
    # A team with no run yet is not a failed team: it is reported and gets no row.
    assert set(rows) == {"tiny", "broken"}
    assert "untrained: not trained yet, so not scored (no row written)" in err
    assert "harness train submissions/untrained" in err
    assert (
        rows["broken"]["status"] == "failed"
        and "No module named 'not_a_module'" in rows["broken"]["error"]
    )
    good = rows["tiny"]
    assert good["status"] == "ok"
    assert good["score"] == pytest.approx(good["fid_with_mask"] + good["fid_without_mask"])
    assert good["score_ci_low"] < good["score_ci_high"]
    assert (
        good["n_fake_with_mask"] == 10
        and good["n_real_with_mask"] == 12
        and good["image_size"] == 16
    )
    assert good["weights_sha256"] == fid_weights.sha256 and good["demo_data"] is True
    assert 0 <= good["label_fidelity_with_mask"] <= 1 and 0 <= good["classifier_test_accuracy"] <= 1
    table = leaderboard.read(board_path)
    assert len(table) == 2 and list(table.columns[:5]) == [
        "timestamp_utc",
        "team",
        "run_id",
        "status",
        "error",
    ]
    board = leaderboard.ranked(table)
    assert board.iloc[0]["team"] == "tiny" and board.iloc[0]["rank"] == 1
    assert set(board["team"]) == {"tiny", "broken"}


def test_row_numbers_are_reproduced_by_harness_fid(
    trained: tuple[Path, Path],
    tiny_data: Path,
    fid_weights,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    submissions, runs_root = trained
    scorer = Scorer(data_root=tiny_data, runs_root=runs_root, settings=FAST)
    row = scorer.score_team(submissions / "tiny")
    samples = (
        runs_root
        / "tiny"
        / row["run_id"]
        / "samples"
        / f"samples-{Path(row['checkpoint']).stem}-n10-seed0.npz"
    )
    from harness import data

    with pytest.raises(SystemExit):
        main(
            [
                "fid",
                str(samples),
                str(tiny_data / "test" / "with_mask"),
                "--class",
                "with_mask",
                "--size",
                "16",
                "--dims",
                "64",
                "--json",
                "--device",
                "cpu",
            ]
        )
    again = json.loads(capsys.readouterr().out)
    assert data.list_split(tiny_data, "test").count(0) == again["n2"]
    assert again["fid"] == pytest.approx(row["fid_with_mask"], abs=1e-6)


def _append_many(path: str, worker: int) -> None:
    for i in range(15):
        leaderboard.append_rows(
            [{"team": f"w{worker}", "run_id": str(i), "status": "ok", "score": i}], Path(path)
        )


def test_concurrent_writers_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    table = leaderboard.read(path)
    assert len(table) == 45 and sorted(table.groupby("team").size().tolist()) == [15, 15, 15]


def test_a_write_that_dies_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([{"team": "a", "status": "ok", "score": 1.0}], path)
    before = path.read_bytes()

    def killed(*_: object) -> None:
        raise KeyboardInterrupt  # as if the process were stopped between write and rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        leaderboard.append_rows([{"team": "b", "status": "ok", "score": 2.0}], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_full_disk_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows([{"team": "a", "status": "ok", "score": 1.0}], path)
    before = path.read_bytes()

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(HarnessError, match=r"disk full while writing .*results\.csv.*intact"):
        leaderboard.append_rows([{"team": "b", "status": "ok", "score": 2.0}], path)
    assert path.read_bytes() == before


def test_board_ranks_best_run_per_team_and_writes_markdown(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "results.csv"
    rows = [
        {
            "timestamp_utc": "2026-01-01T00:00:00",
            "team": "a",
            "run_id": "r1",
            "status": "ok",
            "score": 50.0,
            "n_fake_with_mask": 1000,
        },
        {
            "timestamp_utc": "2026-01-02T00:00:00",
            "team": "a",
            "run_id": "r2",
            "status": "ok",
            "score": 40.04,
            "n_fake_with_mask": 1000,
            "label_fidelity_with_mask": 0.9,
        },
        {
            "timestamp_utc": "2026-01-01T00:00:00",
            "team": "b",
            "run_id": "r1",
            "status": "ok",
            "score": 45.0,
            "n_fake_with_mask": 1000,
        },
        {
            "timestamp_utc": "2026-01-03T00:00:00",
            "team": "c",
            "run_id": None,
            "status": "failed",
            "error": "boom",
        },
    ]
    leaderboard.append_rows(rows, path)
    with pytest.raises(SystemExit):
        main(
            [
                "leaderboard",
                "--leaderboard",
                str(path),
                "--markdown",
                str(tmp_path / "board.md"),
                "--json",
            ]
        )
    board = json.loads(capsys.readouterr().out)
    assert [(r["rank"], r["team"], r.get("run_id")) for r in board] == [
        (1, "a", "r2"),
        (2, "b", "r1"),
        ("-", "c", None),
    ]
    markdown = (tmp_path / "board.md").read_text()
    assert markdown.startswith("|") and "boom" in markdown
    # Fixed decimals and blanks, not tabulate's "1e+03" and "nan".
    row_a = next(line for line in markdown.splitlines() if "| a " in line)
    assert "40.0" in row_a and "1000" in row_a and "0.900" in row_a
    assert "nan" not in markdown and "e+" not in markdown
    assert isinstance(pd.read_csv(path), pd.DataFrame)


def test_board_says_whether_a_lead_is_outside_the_intervals() -> None:
    table = pd.DataFrame(
        [
            {
                "timestamp_utc": "t",
                "team": "a",
                "status": "ok",
                "score": 10,
                "score_ci_low": 9,
                "score_ci_high": 11,
            },
            {
                "timestamp_utc": "t",
                "team": "b",
                "status": "ok",
                "score": 12,
                "score_ci_low": 10.5,
                "score_ci_high": 13,
            },
            {
                "timestamp_utc": "t",
                "team": "c",
                "status": "ok",
                "score": 20,
                "score_ci_low": 19,
                "score_ci_high": 21,
            },
        ]
    )
    board = leaderboard.ranked(table)
    assert board["ahead_of_next"].tolist() == ["no", "yes", ""]


def test_score_with_a_wrong_data_folder_is_one_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    board_path = tmp_path / "results.csv"
    with pytest.raises(SystemExit) as info:
        main(["score", "--all", "--data", str(tmp_path / "nope"), "--leaderboard", str(board_path)])
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith("error: data folder") and not board_path.exists()


def test_each_row_is_saved_before_the_next_team_is_scored(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `score --all` used to append every row at the end: killed at the last team, it lost all.
    board_path = tmp_path / "results.csv"
    scorer = Scorer(data_root=tiny_data, runs_root=tmp_path / "runs", say=lambda message: None)

    def killed_at_b(team_dir: Path, run_id: str | None = None) -> dict:
        if Path(team_dir).name == "b":
            raise KeyboardInterrupt  # as if the process were stopped while scoring team b
        raise TeamCodeError("a: the generator crashed")  # team a's failed row

    monkeypatch.setattr(scorer, "score_team", killed_at_b)
    with pytest.raises(KeyboardInterrupt):
        scorer.score_teams(
            [tmp_path / "a", tmp_path / "b"],
            on_row=lambda row: leaderboard.append_rows([row], board_path),
        )
    saved = leaderboard.read(board_path)
    assert list(saved["team"]) == ["a"] and saved["status"].iloc[0] == "failed"


def test_an_untrained_team_is_reported_and_gets_no_row(
    tiny_data: Path,
    tiny_team: Path,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    board_path = tmp_path / "results.csv"
    args = ["score", str(tiny_team), "--data", str(tiny_data), "--runs", str(tmp_path / "runs")]
    with pytest.raises(SystemExit) as info:
        main([*args, "--leaderboard", str(board_path), "--no-labels"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: team tiny has no trained run")
    assert not board_path.exists()


def test_score_without_memorisation_records_it_as_not_measured(
    trained: tuple[Path, Path],
    tiny_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    # Issue 22: nothing let a user skip the memorisation pass over every train image.
    import harness.scoring.score as score_module
    from harness.board.terminal import _memorised

    original = score_module.ScoreSettings
    monkeypatch.setattr(
        score_module,
        "ScoreSettings",
        lambda **kw: original(**{**kw, "dims": 64, "kid_subsets": 5, "kid_subset_size": 8}),
    )
    submissions, runs_root = trained
    board_path = tmp_path / "results.csv"
    args = ["score", str(submissions / "tiny"), "--data", str(tiny_data), "--runs", str(runs_root)]
    with pytest.raises(SystemExit) as info:
        main(
            [
                *args,
                *("--n", "10", "--bootstrap", "0", "--no-labels", "--no-memorisation"),
                *("--leaderboard", str(board_path), "--device", "cpu", "--json"),
            ]
        )
    assert info.value.code == 0
    out, err = capsys.readouterr()
    (row,) = json.loads(out)
    assert row["status"] == "ok" and row["memorisation_measured"] is False
    assert "memorised" not in row and "mifid" not in row
    assert "memorisation check" not in err, "no train pass announced or made"
    saved = leaderboard.read(board_path).iloc[0]
    assert _memorised(saved) == "not measured"
