"""train --all and score --all K at a time equal a sequential run; the submitit path (local
executor: the same pickled jobs a Slurm cluster runs) trains, scores and tunes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness.board import leaderboard, spool
from harness.cli import main
from harness.data.demo import make_demo_dataset
from harness.scale.plan import ScaleSettings
from harness.scale.teams import tune_on_cluster
from harness.training import checkpoint, runs
from harness.tuning.tune import TuneSettings
from tests.conftest import write_team

# When a row was made and the ids drawn for it: the only fields a parallel run may change.
MAY_DIFFER = {"timestamp_utc", "submitted_at", "submission_id", spool.ROW_ID}


@pytest.fixture(scope="module")
def league(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny teams that differ in width and seed, and one whose model.py does not import."""
    submissions = tmp_path_factory.mktemp("league") / "submissions"
    write_team(submissions / "alpha")
    write_team(
        submissions / "beta",
        {'hparams = {"width": 32}': 'hparams = {"width": 16}', "ema_decay=0.9)": "seed=3)"},
    )
    write_team(submissions / "broken", {"import torch\n": "import torch\nimport not_a_module\n"})
    return submissions


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def train_args(league: Path, data: Path, runs_root: Path) -> list[str]:
    return [
        "train",
        "--all",
        "--submissions",
        str(league),
        "--data",
        str(data),
        "--runs",
        str(runs_root),
        "--max-steps",
        "2",
        "--device",
        "cpu",
        "--json",
    ]


def losses(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "img_per_s"} for x in lines]


@pytest.fixture(scope="module")
def trained_league(
    league: Path, tiny_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The league trained one team after another (the sequential reference)."""
    runs_root = tmp_path_factory.mktemp("sequential") / "runs"
    with pytest.raises(SystemExit) as info:
        main(train_args(league, tiny_data, runs_root))
    assert info.value.code == 1, "a team failed"
    return league, runs_root


def test_train_all_two_at_a_time_equals_one_after_another(
    trained_league: tuple[Path, Path], tiny_data: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    league, sequential = trained_league
    code, out, err = run_cli(
        [*train_args(league, tiny_data, tmp_path / "runs"), "--jobs", "2"], capsys
    )
    assert code == 1, "exit 1: a team failed"
    outcomes = {o["team"]: o for o in json.loads(out)}
    assert {t: o["status"] for t, o in outcomes.items()} == {
        "alpha": "ok",
        "beta": "ok",
        "broken": "failed",
    }
    assert "No module named 'not_a_module'" in outcomes["broken"]["error"]
    assert "broken: failed: " in err
    assert "2 at a time on this machine" in err and "1 CPU thread(s) each" in err
    for team in ("alpha", "beta"):
        a, b = runs.find_run(sequential, team), runs.find_run(tmp_path / "runs", team)
        assert losses(a) == losses(b), team
        wa = checkpoint.load(runs.latest_checkpoint(a))["generator"]
        wb = checkpoint.load(runs.latest_checkpoint(b))["generator"]
        assert all(torch.equal(wa[k], wb[k]) for k in wa), team


def score_args(league: Path, data: Path, runs_root: Path, board: Path) -> list[str]:
    return [
        "score",
        "--all",
        "--submissions",
        str(league),
        "--data",
        str(data),
        "--runs",
        str(runs_root),
        "--n",
        "10",
        "--bootstrap",
        "10",
        "--leaderboard",
        str(board),
        "--device",
        "cpu",
        "--json",
    ]


@pytest.fixture
def small_inception(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring settings with 64-d features and few KID subsets, for seconds-long tests.

    The defaults are changed rather than the class replaced: jobs pickle the settings, and
    pickle finds a class by its name."""
    import dataclasses

    from harness.scoring.score import ScoreSettings

    fast = {"dims": 64, "kid_subsets": 5, "kid_subset_size": 8}
    names = [f.name for f in dataclasses.fields(ScoreSettings)]
    defaults = ScoreSettings.__init__.__defaults__
    assert len(defaults) == len(names)
    patched = tuple(fast.get(n, d) for n, d in zip(names, defaults, strict=True))
    monkeypatch.setattr(ScoreSettings.__init__, "__defaults__", patched)


def test_score_all_two_at_a_time_gives_the_sequential_rows_once_each(
    trained_league: tuple[Path, Path],
    tiny_data: Path,
    tmp_path: Path,
    fid_weights,  # type: ignore[no-untyped-def]
    small_inception: None,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    league, runs_root = trained_league
    boards = {k: tmp_path / k / "results.csv" for k in ("sequential", "jobs")}
    code, out, err = run_cli(score_args(league, tiny_data, runs_root, boards["sequential"]), capsys)
    assert code == 0, err
    sequential = {r["team"]: r for r in json.loads(out)}
    code, out, err = run_cli(
        [*score_args(league, tiny_data, runs_root, boards["jobs"]), "--jobs", "2"], capsys
    )
    assert code == 0, err
    parallel = {r["team"]: r for r in json.loads(out)}
    assert {t: r["status"] for t, r in parallel.items()} == {
        "alpha": "ok",
        "beta": "ok",
        "broken": "failed",
    }
    for team, row in sequential.items():
        other = parallel[team]
        assert set(row) | {spool.ROW_ID} == set(other), team
        for key in set(row) - MAY_DIFFER:
            if isinstance(row[key], float) and isinstance(other[key], float):
                # One CPU thread per job instead of two reorders Inception's float sums:
                # measured 2e-7 on a score of 13.5. Counts, ids and settings are identical.
                assert other[key] == pytest.approx(row[key], rel=1e-6, abs=1e-9), (team, key)
            else:
                assert other[key] == row[key], (team, key)
    board = leaderboard.read(boards["jobs"])
    assert sorted(board["team"]) == ["alpha", "beta", "broken"] and board[spool.ROW_ID].is_unique
    assert spool.pending_rows(spool.spool_dir(boards["jobs"])) == 0


def test_submitit_local_jobs_train_and_score_like_slurm_jobs(
    league: Path,
    tiny_data: Path,
    tmp_path: Path,
    fid_weights,  # type: ignore[no-untyped-def]
    small_inception: None,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """The Slurm path, run by submitit's local executor: pickled jobs in other processes,
    job ids printed, outcomes reported, rows through the spool."""
    runs_root, board = tmp_path / "runs", tmp_path / "board" / "results.csv"
    slurm = ["--executor", "submitit-local", "--time-limit", "10", "--slurm-folder"]
    code, out, err = run_cli(
        [*train_args(league, tiny_data, runs_root), *slurm, str(tmp_path / "jobs")], capsys
    )
    assert code == 1, err  # the broken team
    assert "submitted 3 submitit local job(s)" in err and "alpha: job " in err
    assert {o["team"]: o["status"] for o in json.loads(out)} == {
        "alpha": "ok",
        "beta": "ok",
        "broken": "failed",
    }
    assert len(list((tmp_path / "jobs").glob("*/*_result.pkl"))) == 3, "submitit's own records"
    code, out, err = run_cli(
        [*score_args(league, tiny_data, runs_root, board), *slurm, str(tmp_path / "jobs")], capsys
    )
    assert code == 0, err
    rows = pd.DataFrame(json.loads(out))
    assert dict(zip(rows["team"], rows["status"], strict=True)) == {
        "alpha": "ok",
        "beta": "ok",
        "broken": "failed",
    }
    table = leaderboard.read(board)
    assert len(table) == 3 and set(table[spool.ROW_ID]) == set(rows[spool.ROW_ID])


def test_tuning_workers_as_submitit_jobs_share_one_study(
    tmp_path: Path,
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    data = make_demo_dataset(tmp_path / "data", train_per_class=80, test_per_class=1, size=32)
    shutil.rmtree(data / "test")  # tuning never reads it
    team = write_team(tmp_path / "submissions" / "tiny")
    settings = TuneSettings(
        trials=2, workers=2, epochs=1, n_val=6, dims=64, device="cpu", pruner="none"
    )
    messages: list[str] = []
    result = tune_on_cluster(
        team,
        data_root=data,
        tune_root=tmp_path / "tune",
        tune_settings=settings,
        settings=ScaleSettings(jobs=2, executor="submitit-local"),
        say=messages.append,
    )
    assert [w["status"] for w in result["workers"]] == ["ok", "ok"]
    assert result["counts"]["complete"] >= 2 and result["storage"].startswith("journal:")
    assert any(m.startswith("submitted 2 submitit local job(s)") for m in messages)
