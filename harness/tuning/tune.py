"""``harness tune``: Optuna searches over a team's hyperparameters, on a validation split.

Each trial trains the team in child processes on the ``fit`` part of ``train`` (90%, carved by
file name) with parameters sampled by Optuna in this process, and is scored by the summed
per-class FID of its samples against the ``val`` part (the other 10%). The held-out ``test``
split is never read: tuning on it would overfit the leaderboard.

- The search space comes from the team's spec: a child records the distributions its
  ``search_space`` asks for; Optuna samples raw values here, and the training child turns them
  back into overrides with the spec's ``search_space`` on a fixed trial. (So spaces must be
  static: the same parameters whatever the values.) A spec with an empty space is tuned over
  :data:`DEFAULT_SPACE`.
- Intermediate values are reported every ``report_every`` epochs, so the pruner (median by
  default) stops poor trials early.
- Storage: SQLite under the study folder by default; Optuna's journal file with ``--workers``;
  any RDB URL (PostgreSQL) for workers on several machines. Re-running the same command
  continues the study up to ``--trials`` finished trials. With RDB storages a heartbeat marks a
  killed worker's trial failed and Optuna retries it; the journal backend has no heartbeat, so
  a worker starting up fails and re-enqueues running trials whose process on this host is gone.
- After every finished trial the best parameters are written to ``best.json`` beside the
  study; ``harness train <team> --params best`` trains with them.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    json_to_distribution,
)
from optuna.trial import TrialState

from harness.errors import HarnessError
from harness.training import runs
from harness.tuning.report import DEFAULT_TUNE_ROOT, report, write_best
from harness.tuning.storage import open_storage, recover_orphaned_trials, study_dir

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
DEFAULT_SPACE: dict[str, BaseDistribution] = {
    "lr_g": FloatDistribution(5e-5, 1e-3, log=True),
    "lr_d": FloatDistribution(5e-5, 1e-3, log=True),
    "beta1": CategoricalDistribution([0.0, 0.5]),
}
PRUNERS = ("median", "hyperband", "none")


@dataclass(frozen=True)
class TuneSettings:
    """One search. Every field but ``workers`` and ``timeout_s`` is fixed by the first run.

    Attributes:
        trials: finished trials (complete, pruned or failed) the study should reach.
        study: study name (default ``<team>``).
        storage: an RDB URL, a ``.journal`` file, or None for the default.
        workers: worker processes on this machine (journal storage when above 1).
        timeout_s: stop starting trials after this many seconds (per worker).
        pruner: ``median`` (default), ``hyperband`` or ``none``.
        epochs: training epochs per trial (default 2).
        report_every: epochs between validation scores (default 1).
        n_val: samples per class for the validation FID (default 200).
        dims: Inception feature dims for the validation FID (default 2048).
        seed: sampler seed and sample seed (default 0).
        device: training and Inception device.
        trial_timeout_s: time limit of each training child (None: the train job's default
            of :mod:`harness.sandbox.limits`; 0: none).
        memory_gib: memory limit of each training and sampling child (None: the default;
            0: none).
    """

    trials: int = 20
    study: str | None = None
    storage: str | None = None
    workers: int = 1
    timeout_s: float | None = None
    pruner: str = "median"
    epochs: int = 2
    report_every: int = 1
    n_val: int = 200
    dims: int = 2048
    seed: int = 0
    device: str = "auto"
    trial_timeout_s: float | None = None
    memory_gib: float | None = None


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """The pruner called ``name``; median waits for two trials before pruning."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise HarnessError(f"unknown pruner {name!r}; use one of {', '.join(PRUNERS)}")


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """Ask ``trial`` for parameter ``name`` with the distribution the spec declared."""
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    raise HarnessError(f"search-space parameter {name!r} has an unsupported distribution {dist!r}")


class Objective:
    """Train one trial in stages and report its validation score after each stage."""

    def __init__(
        self,
        team_dir: Path,
        data_root: Path,
        folder: Path,
        settings: TuneSettings,
        distributions: dict[str, BaseDistribution],
        image_size: int,
        study_name: str,
    ) -> None:
        self.team_dir, self.data_root, self.folder = Path(team_dir), Path(data_root), folder
        self.settings, self.distributions = settings, distributions
        self.image_size, self.study_name = image_size, study_name
        self._extractor: Any = None

    def extractor(self) -> Any:
        """The Inception extractor of this worker, built on first use."""
        if self._extractor is None:
            from harness import device
            from harness.scoring.metrics.inception import InceptionFeatures

            dev = device.resolve_device(self.settings.device)
            device.configure(dev)
            self._extractor = InceptionFeatures(dims=self.settings.dims, device=dev)
        return self._extractor

    def validation_score(self, run_id: str) -> float:
        """Summed per-class FID of the run's samples against the ``val`` part of ``train``."""
        from harness.classes import NUM_CLASSES
        from harness.sandbox.limits import job_limits
        from harness.sandbox.runner import forbidden_paths
        from harness.scoring.metrics.fid import frechet_distance, statistics
        from harness.scoring.metrics.reference import class_reference
        from harness.scoring.sample import sample_team

        samples = sample_team(
            self.team_dir,
            runs_root=self.folder / "runs",
            run_id=run_id,
            n_per_class=self.settings.n_val,
            seed=self.settings.seed,
            device=self.settings.device,
            limits=job_limits("sample", memory_gib=self.settings.memory_gib),
            forbidden=forbidden_paths(self.data_root),
        )
        total = 0.0
        for c in range(NUM_CLASSES):
            reference = class_reference(
                self.data_root, c, self.image_size, self.extractor(), split="train", subset="val"
            )
            total += frechet_distance(
                statistics(self.extractor()(samples.of_class(c))), reference.stats
            )
        return total

    def __call__(self, trial: optuna.Trial) -> float:
        from harness.training.train import train_team

        params = {name: suggest(trial, name, dist) for name, dist in self.distributions.items()}
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        source = {"study": self.study_name, "trial": trial.number}
        s = self.settings
        stages = sorted({*range(s.report_every, s.epochs + 1, s.report_every), s.epochs})
        run_id = None
        value = math.nan
        for epoch in stages:
            result = train_team(
                self.team_dir,
                data_root=self.data_root,
                runs_root=self.folder / "runs",
                overrides={"epochs": epoch},
                device=s.device,
                resume=run_id,
                timeout_s=s.trial_timeout_s,
                memory_gib=s.memory_gib,
                params_source=source,
                subset="fit",
                trial_params=params,
                image_size=self.image_size,
            )
            run_id = result["run_id"]
            trial.set_user_attr("run_id", run_id)
            value = self.validation_score(run_id)
            print(
                f"trial {trial.number}: epoch {epoch}: validation FID sum {value:.2f}",
                file=sys.stderr,
            )
            trial.report(value, step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"validation FID sum {value:.2f} at epoch {epoch}")
        return value


def _study_settings(study: optuna.Study, settings: TuneSettings) -> TuneSettings:
    """Pin the budget on first use; later runs must match it (or results are not comparable)."""
    fixed = {
        k: v
        for k, v in asdict(settings).items()
        if k in ("epochs", "report_every", "n_val", "dims", "seed")
    }
    stored = study.user_attrs.get("budget")
    if stored is None:
        study.set_user_attr("budget", fixed)
        return settings
    changed = {k: (stored[k], fixed[k]) for k in fixed if stored.get(k) != fixed[k]}
    if changed:
        what = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
        raise HarnessError(
            f"study {study.study_name} was run with another budget ({what}); keep its settings "
            "to continue it, or choose a new --study name"
        )
    return settings


def run_worker(
    team_dir: Path,
    data_root: Path,
    tune_root: Path,
    settings: TuneSettings,
    summary: dict[str, Any],
) -> None:
    """One worker: open the study and run trials until the study has enough of them."""
    team = runs.team_name(team_dir)
    name = settings.study or team
    folder = study_dir(tune_root, team, name)
    storage, desc = open_storage(settings.storage, settings.workers, folder)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=_sampler_seed(settings)),
        pruner=make_pruner(settings.pruner),
        load_if_exists=True,
    )
    settings = _study_settings(study, settings)
    if desc.startswith("journal:"):
        for number in recover_orphaned_trials(study, folder):
            print(f"trial {number}: its worker died; failed it and queued a retry", file=sys.stderr)
    distributions = {k: json_to_distribution(v) for k, v in summary["search_distributions"].items()}
    objective = Objective(
        team_dir,
        data_root,
        folder,
        settings,
        distributions or DEFAULT_SPACE,
        int(summary["image_size"]),
        name,
    )
    done = len(study.get_trials(deepcopy=False, states=FINISHED))
    if done >= settings.trials:
        return

    def save_best(study: optuna.Study, _: Any) -> None:
        write_best(study, folder, desc)

    study.optimize(
        objective,
        n_trials=settings.trials,
        timeout=settings.timeout_s,
        catch=(HarnessError,),
        callbacks=[optuna.study.MaxTrialsCallback(settings.trials, states=FINISHED), save_best],
    )


def _sampler_seed(settings: TuneSettings) -> int:
    """The TPE seed: the study's seed, made distinct per process when several workers run,
    so that they do not all propose the same first parameters."""
    return settings.seed if settings.workers == 1 else settings.seed * 100_003 + os.getpid()


def _worker_entry(args: dict[str, Any]) -> None:
    os.environ["HARNESS_THREADS"] = str(args["threads"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_worker(
        Path(args["team_dir"]),
        Path(args["data_root"]),
        Path(args["tune_root"]),
        args["settings"],
        args["summary"],
    )


def tune_team(
    team_dir: Path, *, data_root: Path, tune_root: Path = DEFAULT_TUNE_ROOT, settings: TuneSettings
) -> dict[str, Any]:
    """Run (or continue) a search and return its report; see the module docstring."""
    from harness import data
    from harness.device import cpu_threads
    from harness.training.train import validate_team

    if (
        settings.trials < 1
        or settings.workers < 1
        or settings.epochs < 1
        or settings.report_every < 1
    ):
        raise HarnessError("--trials, --workers, --epochs and --report-every must be at least 1")
    make_pruner(settings.pruner)
    data.list_split(data_root, "train")  # a wrong data folder fails here, before any worker
    team = runs.team_name(team_dir)
    settings = replace(settings, study=settings.study or team)
    summary = validate_team(team_dir, data_root)
    if settings.workers == 1:
        run_worker(Path(team_dir), Path(data_root), Path(tune_root), settings, summary)
    else:
        import multiprocessing

        threads = max(1, cpu_threads() // settings.workers)
        context = multiprocessing.get_context("spawn")
        args = {
            "team_dir": str(team_dir),
            "data_root": str(data_root),
            "tune_root": str(tune_root),
            "settings": settings,
            "summary": summary,
            "threads": threads,
        }
        procs = [
            context.Process(target=_worker_entry, args=(args,)) for _ in range(settings.workers)
        ]
        for proc in procs:
            proc.start()
        try:
            for proc in procs:
                proc.join()
        except KeyboardInterrupt:
            for proc in procs:
                proc.terminate()
            raise
        failed = [p.exitcode for p in procs if p.exitcode]
        if failed:
            raise HarnessError(
                f"{len(failed)} tuning worker(s) exited with codes {failed}; see the log above"
            )
    return report(team_dir, tune_root=tune_root, study=settings.study, storage=settings.storage)
