"""Optuna searches: completion, resume, failures, pruning, no test split, workers, retries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from harness.cli import main
from harness.data.demo import make_demo_dataset
from harness.errors import HarnessError
from harness.training import runs
from harness.tuning.storage import open_storage, study_dir
from harness.tuning.tune import TuneSettings, tune_team
from tests.conftest import TINY_TEAM, write_team

# The tiny team with a knob that ruins it: "mode" picks a working generator, one whose output is
# a near-constant grey (huge FID, for pruning), or one that crashes in training.
TUNABLE = (
    TINY_TEAM.replace(
        "        return torch.tanh(self.net(torch.cat([z, self.embed(y)], 1))).view(-1, 3, SIZE, SIZE)",
        "        x = torch.tanh(self.net(torch.cat([z, self.embed(y)], 1))).view(-1, 3, SIZE, SIZE)\n"
        "        if self.mode == 'grey':\n"
        "            return 0.01 * x\n"
        "        if self.mode == 'crash' and self.training and x.shape[0] > 4:\n"
        "            raise RuntimeError('crashed on purpose')\n"
        "        return x",
    )
    .replace(
        "    def __init__(self, latent_dim, width):\n        super().__init__()\n        self.embed = nn.Embedding(2, 4)\n        self.net = nn.Sequential(nn.Linear(latent_dim + 4, width)",
        "    def __init__(self, latent_dim, width, mode='ok'):\n        super().__init__()\n        self.mode = mode\n        self.embed = nn.Embedding(2, 4)\n        self.net = nn.Sequential(nn.Linear(latent_dim + 4, width)",
    )
    .replace('    hparams = {"width": 32}', '    hparams = {"width": 32, "mode": "ok"}')
    .replace(
        '        return Generator(self.latent_dim, hparams["width"])',
        '        return Generator(self.latent_dim, hparams["width"], hparams["mode"])',
    )
    .replace(
        """        return {"lr_g": trial.suggest_float("lr_g", 1e-4, 1e-2, log=True),
                "width": trial.suggest_categorical("width", [16, 32])}""",
        """        return {"lr_g": trial.suggest_float("lr_g", 1e-4, 1e-2, log=True),
                "mode": trial.suggest_categorical("mode", ["ok", "grey", "crash"])}""",
    )
)
assert "self.mode = mode" in TUNABLE and '"mode": trial' in TUNABLE


def settings(**changes: object) -> TuneSettings:
    base = TuneSettings(
        trials=2, epochs=1, report_every=1, n_val=6, dims=64, device="cpu", pruner="none"
    )
    return TuneSettings(**{**base.__dict__, **changes})


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return write_team(tmp_path / "submissions" / "tunable", source=TUNABLE)


@pytest.fixture(scope="module")
def no_test_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 + 80 demo training faces (about 8 per class in val) and no test split at all:
    anything that reads the test split fails loudly."""
    root = make_demo_dataset(
        tmp_path_factory.mktemp("tune") / "data", train_per_class=80, test_per_class=1, size=32
    )
    shutil.rmtree(root / "test")
    return root


def load(tune_root: Path, name: str = "tunable") -> optuna.Study:
    storage, _ = open_storage(None, 1, study_dir(tune_root, "tunable", name))
    return optuna.load_study(study_name=name, storage=storage)


def enqueue(tune_root: Path, *params: dict[str, object], name: str = "tunable") -> None:
    folder = study_dir(tune_root, "tunable", name)
    storage, _ = open_storage(None, 1, folder)
    study = optuna.create_study(
        storage=storage, study_name=name, direction="minimize", load_if_exists=True
    )
    for p in params:
        study.enqueue_trial(p)


def test_study_completes_resumes_reports_and_survives_a_failing_trial(
    team: Path,
    no_test_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    # Every tuning test runs on a dataset with no test split at all: reading it would fail.
    tune_root = tmp_path / "tune"
    enqueue(tune_root, {"lr_g": 1e-3, "mode": "ok"}, {"lr_g": 1e-3, "mode": "crash"})
    first = tune_team(
        team, data_root=no_test_data, tune_root=tune_root, settings=settings(trials=2)
    )
    assert first["counts"]["complete"] == 1 and first["counts"]["fail"] == 1, first["counts"]
    # The failed trial is one line at the terminal; its traceback is in the study's tune.log.
    err = capsys.readouterr().err
    failed_line = next(line for line in err.splitlines() if line.startswith("trial 1: failed:"))
    assert "crashed on purpose" in failed_line and "tune.log" in failed_line
    assert "trial 1: lr_g=0.001, mode=crash" in err and "Traceback" not in err
    log = (study_dir(tune_root, "tunable", "tunable") / "tune.log").read_text()
    assert "Traceback" in log and "crashed on purpose" in log
    study = load(tune_root)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed[0].params["mode"] == "crash"
    best = json.loads((study_dir(tune_root, "tunable", "tunable") / "best.json").read_text())
    assert best["params"]["mode"] == "ok" and best["trial"] == 0 and best["value"] > 0
    # Continuing with another budget would mix incomparable trials: refused.
    with pytest.raises(HarnessError, match=r"another budget .*n_val 6 -> 7"):
        tune_team(
            team, data_root=no_test_data, tune_root=tune_root, settings=settings(trials=4, n_val=7)
        )
    # The same command with more trials continues the same study.
    enqueue(tune_root, {"lr_g": 3e-3, "mode": "ok"})
    second = tune_team(
        team, data_root=no_test_data, tune_root=tune_root, settings=settings(trials=4)
    )
    assert sum(second["counts"][k] for k in ("complete", "fail", "pruned")) == 4
    assert [t.number for t in load(tune_root).trials] == [0, 1, 2, 3]
    # The trial runs trained on the fit part of train only.
    trial_run = runs.read_config(
        next((study_dir(tune_root, "tunable", "tunable") / "runs" / "tunable").iterdir())
    )
    assert trial_run["subset"] == "fit" and trial_run["params_source"]["study"] == "tunable"
    # --report: the best complete trials, best first, and the two plots.
    with pytest.raises(SystemExit):
        main(["tune", str(team), "--report", "--tune-dir", str(tune_root), "--json"])
    shown = json.loads(capsys.readouterr().out)
    values = [r["value"] for r in shown["best"]]
    assert len(values) >= 2 and values == sorted(values)
    assert sorted(Path(p).name for p in shown["plots"]) == ["history.png", "importances.png"]
    assert all(Path(p).stat().st_size > 1000 for p in shown["plots"])


def test_a_bad_trial_is_pruned_early(
    team: Path, no_test_data: Path, tmp_path: Path, fid_weights
) -> None:  # type: ignore[no-untyped-def]
    tune_root = tmp_path / "tune"
    good = {"lr_g": 1e-3, "mode": "ok"}
    enqueue(tune_root, good, good, {"lr_g": 1e-3, "mode": "grey"})
    result = tune_team(
        team,
        data_root=no_test_data,
        tune_root=tune_root,
        settings=settings(trials=3, epochs=2, pruner="median"),
    )
    assert result["counts"]["pruned"] == 1
    pruned = next(t for t in load(tune_root).trials if t.state == TrialState.PRUNED)
    assert pruned.params["mode"] == "grey"
    assert list(pruned.intermediate_values) == [1], "stopped after its first report"


def test_two_workers_on_a_journal_lose_no_trial(
    team: Path, no_test_data: Path, tmp_path: Path, fid_weights
) -> None:  # type: ignore[no-untyped-def]
    tune_root = tmp_path / "tune"
    result = tune_team(
        team, data_root=no_test_data, tune_root=tune_root, settings=settings(trials=4, workers=2)
    )
    assert result["storage"].startswith("journal:")
    trials = load(tune_root).trials
    # Workers that ask at the same moment may each start one last trial (Optuna's documented
    # behaviour of MaxTrialsCallback): at most workers - 1 extra, and none lost or left running.
    assert 4 <= len(trials) <= 5 and [t.number for t in trials] == list(range(len(trials)))
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) for t in trials)
    workers = {t.user_attrs.get("worker") for t in trials}
    assert len(workers) == 2, f"both workers ran trials: {workers}"


def test_a_dead_workers_trial_is_retried(
    team: Path, no_test_data: Path, tmp_path: Path, fid_weights
) -> None:  # type: ignore[no-untyped-def]
    tune_root = tmp_path / "tune"
    folder = study_dir(tune_root, "tunable", "tunable")
    folder.mkdir(parents=True)
    # A worker that starts a trial on the journal and dies without finishing it.
    script = (
        "import optuna, os, socket\n"
        "from optuna.storages import JournalStorage\n"
        "from optuna.storages.journal import JournalFileBackend\n"
        f"s = optuna.create_study(storage=JournalStorage(JournalFileBackend({str(folder / 'study.journal')!r})), "
        "study_name='tunable', direction='minimize', load_if_exists=True)\n"
        "t = s.ask()\n"
        "t.suggest_float('lr_g', 1e-4, 1e-2, log=True); t.suggest_categorical('mode', ['ok', 'grey', 'crash'])\n"
        "t.set_user_attr('worker', f'{socket.gethostname()}:{os.getpid()}')\n"
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    orphan = load(tune_root).trials[0]
    assert orphan.state == TrialState.RUNNING
    tune_team(
        team, data_root=no_test_data, tune_root=tune_root, settings=settings(trials=2, workers=2)
    )
    trials = load(tune_root).trials
    assert trials[0].state == TrialState.FAIL
    retry = next(
        t for t in trials if t.system_attrs.get("fixed_params") or t.user_attrs.get("retry_of") == 0
    )
    assert retry.params == orphan.params and retry.state != TrialState.RUNNING


def test_train_with_best_params_records_the_study(
    team: Path,
    no_test_data: Path,
    tiny_data: Path,
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    folder = study_dir(tmp_path / "tune", "tunable", "s1")
    folder.mkdir(parents=True)
    (folder / "best.json").write_text(
        json.dumps(
            {"study": "s1", "trial": 7, "value": 12.5, "params": {"lr_g": 0.004, "mode": "ok"}}
        )
    )
    with pytest.raises(SystemExit) as info:
        main(
            [
                "train",
                str(team),
                "--data",
                str(tiny_data),
                "--runs",
                str(tmp_path / "runs"),
                "--params",
                "best",
                "--tune-dir",
                str(tmp_path / "tune"),
                "--epochs",
                "1",
                "--json",
            ]
        )
    assert info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    config = runs.read_config(Path(result["run_dir"]))
    assert config["train_config"]["lr_g"] == 0.004
    assert config["params_source"]["study"] == "s1" and config["params_source"]["trial"] == 7


def test_best_params_missing_is_one_clear_line(team: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        main(["train", str(team), "--params", "best", "--tune-dir", str(tmp_path / "tune")])
    assert info.value.code == 1
    assert "no tuned parameters for tunable" in capsys.readouterr().err


def _cheap_objective(trial: optuna.Trial) -> float:
    from harness.tuning.space import DEFAULT_SPACE, suggest

    params = {name: suggest(trial, name, dist) for name, dist in DEFAULT_SPACE.items()}
    return params["lr_g"] + params["lr_d"]


def _param_sets(study: optuna.Study) -> list[tuple[object, ...]]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def test_a_resumed_study_continues_the_sequence_instead_of_replaying_it(
    tmp_path: Path,
) -> None:
    # Each open_study is what a new `harness tune` process does; the sampler used to be
    # seeded the same way every time, so trial 2 of a resumed study replayed trial 0.
    from harness.tuning.tune import open_study

    team = tmp_path / "tunable"
    first, _, _ = open_study(team, tmp_path / "tune", settings(trials=2))
    first.optimize(_cheap_objective, n_trials=2)
    for _ in range(2):  # resumed twice, one trial each time
        resumed, _, _ = open_study(team, tmp_path / "tune", settings(trials=4))
        resumed.optimize(_cheap_objective, n_trials=1)
    sets = _param_sets(load(tmp_path / "tune"))
    assert len(sets) == 4 and len(set(sets)) == 4, sets


def test_a_fresh_study_with_one_seed_is_reproducible_and_workers_differ(tmp_path: Path) -> None:
    from harness.tuning.tune import open_study

    team = tmp_path / "tunable"
    studies = []
    for root, worker in (("a", 0), ("b", 0), ("c", 1)):
        study, _, _ = open_study(team, tmp_path / root, settings(trials=3), worker=worker)
        study.optimize(_cheap_objective, n_trials=3)
        studies.append(_param_sets(study))
    assert studies[0] == studies[1], "the same seed on a fresh study proposes the same points"
    assert not set(studies[0]) & set(studies[2]), "a second worker draws its own points"


def test_knobs_reach_every_trial_and_a_finished_study_says_so(
    team: Path,
    no_test_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    tune_root = tmp_path / "tune"
    enqueue(tune_root, {"lr_g": 1e-3, "mode": "ok"})
    args = [
        "tune",
        str(team),
        "--data",
        str(no_test_data),
        "--tune-dir",
        str(tune_root),
        "--trials",
        "1",
        "--epochs",
        "2",
        "--n-val",
        "6",
        "--dims",
        "64",
        "--device",
        "cpu",
        "--pruner",
        "none",
        "--batch-size",
        "4",
        "--max-steps",
        "3",
        "--set",
        "width=16",
    ]
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    err = capsys.readouterr().err
    assert "trial 0: lr_g=0.001, mode=ok" in err and "trial 0: finished: validation FID" in err
    run_dir = next((study_dir(tune_root, "tunable", "tunable") / "runs" / "tunable").iterdir())
    config = runs.read_config(run_dir)
    assert config["train_config"]["batch_size"] == 4 and config["train_config"]["max_steps"] == 3
    # --max-steps is the trial's whole budget, not each stage's (train's limits one session).
    assert config["hparams"]["width"] == 16 and config["steps_done"] == 3
    # The same command again: the study is done, and one line says how to ask for more.
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    err = capsys.readouterr().err
    assert "study tunable already has 1 finished trials" in err and "--trials 6" in err
    assert len(load(tune_root).trials) == 1
    # --set epochs would fight --epochs: refused in one line.
    with pytest.raises(SystemExit) as info:
        main([*args, "--set", "epochs=3", "--trials", "2", "--study", "other"])
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith("error: --set epochs=... is set by --epochs")


def test_a_fixed_knob_that_the_team_searches_is_taken_out_of_the_search() -> None:
    # team2 searches batch_size over 64 and 128: a small dataset needs --batch-size 16.
    from optuna.distributions import CategoricalDistribution, distribution_to_json

    from harness.tuning.space import DEFAULT_SPACE, search_space

    summary = {
        "search_distributions": {
            "lr_g": distribution_to_json(DEFAULT_SPACE["lr_g"]),
            "batch_size": distribution_to_json(CategoricalDistribution([64, 128])),
        }
    }
    space, pinned = search_space(
        summary, settings(batch_size=16, overrides={"width": 8}).fixed_knobs()
    )
    assert pinned == {"batch_size": 16}
    assert space["batch_size"] == CategoricalDistribution([16])
    assert space["lr_g"] == DEFAULT_SPACE["lr_g"]
    default, pinned = search_space({"search_distributions": {}}, {"lr_d": 1e-4})
    assert pinned == {"lr_d": 1e-4} and set(default) == {"lr_g", "lr_d", "beta1"}
    study = optuna.create_study()
    trial = study.ask(space)
    assert trial.params["batch_size"] == 16, "the trial still records the fixed value"


def test_ctrl_c_stops_cleanly_and_the_interrupted_trial_does_not_count(
    team: Path, no_test_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:  # type: ignore[no-untyped-def]
    # Training and scoring are stood in for (this is about the study's bookkeeping): the
    # second trial is hit by the user's Ctrl-C while it trains.
    import harness.training.train as train_module
    from harness.tuning.tune import Objective

    calls = {"n": 0}

    def fake_train(team_dir: Path, **kwargs: object) -> dict:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return {"run_id": f"run-{calls['n']}"}

    monkeypatch.setattr(train_module, "train_team", fake_train)
    monkeypatch.setattr(
        train_module,
        "validate_team",
        lambda *a, **k: {"search_distributions": {}, "image_size": 16},
    )
    monkeypatch.setattr(Objective, "validation_score", lambda self, run_id: 100.0 + calls["n"])
    tune_root = tmp_path / "tune"
    args = ["tune", str(team), "--data", str(no_test_data), "--tune-dir", str(tune_root)]
    args += ["--trials", "3", "--epochs", "1", "--device", "cpu", "--pruner", "none"]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capfd.readouterr().err
    assert info.value.code == 130 and "Traceback" not in err and "Trial 1 failed" not in err, err
    assert "tune: interrupted; trial 1 stopped and does not count" in err
    assert "has 1 of 3 finished trials; run the same command to continue it" in err
    study = load(tune_root)
    interrupted = study.trials[1]
    assert interrupted.state == TrialState.FAIL and interrupted.user_attrs["interrupted"]
    # The same command again: the interrupted trial's parameters run first, and three trials
    # that count are reached (before, the interrupted one counted and only one more ran).
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0
    study = load(tune_root)
    counted = [t for t in study.trials if not t.user_attrs.get("interrupted")]
    assert [t.state for t in counted] == [TrialState.COMPLETE] * 3
    assert counted[1].user_attrs["retry_of"] == 1 and counted[1].params == interrupted.params
