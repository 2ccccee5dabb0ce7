"""``harness tune``: Optuna searches over a team's hyperparameters, on a validation split.

Each trial trains the team in child processes on the ``fit`` part of ``train`` (90%, carved by
file name) with parameters sampled by Optuna in this process, and is scored by the summed
per-class FID of its samples against the ``val`` part (the other 10%). The held-out ``test``
split is never read: tuning on it would overfit the leaderboard.

- The search space comes from the team's spec (:mod:`.space`); a spec with an empty space is
  tuned over ``lr_g``, ``lr_d`` and ``beta1``. Knobs fixed for every trial (``--batch-size``,
  ``--max-steps``, ``--set``) are part of the study's budget (:mod:`.budget`).
- Intermediate values are reported every ``report_every`` epochs, so the pruner (median by
  default) stops poor trials early.
- Storage: SQLite under the study folder by default; Optuna's journal file with ``--workers``;
  any RDB URL (PostgreSQL) for workers on several machines. Re-running the same command
  continues the study up to ``--trials`` finished trials, with a sampler seeded so that it
  continues the sequence rather than replaying it (:mod:`.sampler`). With RDB storages a
  heartbeat marks a killed worker's trial failed and Optuna retries it; the journal backend has
  no heartbeat, so a worker starting up fails and re-enqueues running trials whose process on
  this host is gone.
- After every finished trial the best parameters are written to ``best.json`` beside the
  study; ``harness train <team> --params best`` trains with them.
- The terminal shows each trial's number and parameters, its validation scores and how it
  ended, in one line each; Optuna's own log, tracebacks of failed trials included, goes to
  ``tune.log`` in the study folder (:mod:`.console`).
"""

from __future__ import annotations

import math
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

from harness.errors import HarnessError
from harness.training import runs
from harness.tuning import interrupt
from harness.tuning.budget import check_knobs, pin_budget
from harness.tuning.console import LOG_NAME, format_params, optuna_log_to_file
from harness.tuning.report import DEFAULT_TUNE_ROOT, report, write_best
from harness.tuning.sampler import make_sampler
from harness.tuning.space import DEFAULT_SPACE, search_space, suggest
from harness.tuning.storage import open_storage, recover_orphaned_trials, study_dir

__all__ = ["DEFAULT_SPACE", "TuneSettings", "open_study", "suggest", "tune_team"]

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
        batch_size: training batch size of every trial (None: the team's).
        max_steps: stop each trial's training after this many D steps (None: no limit).
        overrides: other TrainConfig fields or hparams fixed for every trial (``--set``).
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
    batch_size: int | None = None
    max_steps: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def train_overrides(self, epochs: int) -> dict[str, Any]:
        """The overrides of one training stage of a trial: the fixed knobs and ``epochs``."""
        fixed: dict[str, Any] = dict(self.overrides)
        if self.batch_size is not None:
            fixed["batch_size"] = self.batch_size
        if self.max_steps is not None:
            fixed["max_steps"] = self.max_steps
        return {**fixed, "epochs": epochs}

    def fixed_knobs(self) -> dict[str, Any]:
        """What every trial's training gets besides its sampled parameters and its epochs."""
        return {k: v for k, v in self.train_overrides(self.epochs).items() if k != "epochs"}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """The pruner called ``name``; median waits for two trials before pruning."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise HarnessError(f"unknown pruner {name!r}; use one of {', '.join(PRUNERS)}")


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
        params = {name: suggest(trial, name, dist) for name, dist in self.distributions.items()}
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        _say(f"trial {trial.number}: {format_params(params)}")
        try:
            value = self._train_and_score(trial, params)
        except HarnessError as exc:
            # Optuna logs the traceback to tune.log; the terminal gets one line.
            trial.set_user_attr("error", str(exc))
            _say(f"trial {trial.number}: failed: {exc} (traceback: {self.folder / LOG_NAME})")
            raise
        _say(f"trial {trial.number}: finished: validation FID sum {value:.2f}")
        return value

    def _train_and_score(self, trial: optuna.Trial, params: dict[str, Any]) -> float:
        from harness.training.train import train_team

        source = {"study": self.study_name, "trial": trial.number}
        s = self.settings
        stages = sorted({*range(s.report_every, s.epochs + 1, s.report_every), s.epochs})
        run_id = None
        value = math.nan
        steps_done = 0
        for epoch in stages:
            overrides = s.train_overrides(epoch)
            if s.max_steps:
                # --max-steps is the trial's whole budget; train's own limits one session
                # (one stage here), so each stage gets what the earlier ones left.
                if steps_done >= s.max_steps:
                    break
                overrides["max_steps"] = s.max_steps - steps_done
            result = train_team(
                self.team_dir,
                data_root=self.data_root,
                runs_root=self.folder / "runs",
                overrides=overrides,
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
            # An interrupted job reports no step count; the trial ends with the interrupt anyway.
            steps_done = int(result.get("steps_done", steps_done))
            trial.set_user_attr("run_id", run_id)
            value = self.validation_score(run_id)
            _say(f"trial {trial.number}: epoch {epoch}: validation FID sum {value:.2f}")
            trial.report(value, step=epoch)
            if trial.should_prune():
                _say(f"trial {trial.number}: pruned after epoch {epoch} by the {s.pruner} pruner")
                raise optuna.TrialPruned(f"validation FID sum {value:.2f} at epoch {epoch}")
        return value


def open_study(
    team_dir: Path, tune_root: Path, settings: TuneSettings, worker: int = 0
) -> tuple[optuna.Study, Path, str]:
    """Create or load the study, check its pinned budget, and give it this worker's sampler.

    Returns:
        The study, its folder and a description of its storage.
    """
    team = runs.team_name(team_dir)
    name = settings.study or team
    folder = study_dir(tune_root, team, name)
    storage, desc = open_storage(settings.storage, settings.workers, folder)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        pruner=make_pruner(settings.pruner),
        load_if_exists=True,
    )
    pin_budget(study, asdict(settings))
    study.sampler = make_sampler(study, settings.seed, worker)
    return study, folder, desc


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: complete, pruned or failed, and not interrupted
    by the user (:mod:`.interrupt`)."""
    return len(interrupt.counted(study))


def run_worker(
    team_dir: Path,
    data_root: Path,
    tune_root: Path,
    settings: TuneSettings,
    summary: dict[str, Any],
    worker: int = 0,
    say_interrupt: bool = True,
) -> None:
    """One worker: open the study and run trials until the study has enough of them
    (interrupted trials do not count; see :mod:`.interrupt`)."""
    team = runs.team_name(team_dir)
    with optuna_log_to_file(study_dir(tune_root, team, settings.study or team)):
        _run_worker(team_dir, data_root, tune_root, settings, summary, worker, say_interrupt)


def _run_worker(
    team_dir: Path,
    data_root: Path,
    tune_root: Path,
    settings: TuneSettings,
    summary: dict[str, Any],
    worker: int,
    say_interrupt: bool,
) -> None:
    study, folder, desc = open_study(team_dir, tune_root, settings, worker)
    name = study.study_name
    if desc.startswith("journal:"):
        for number in recover_orphaned_trials(study, folder):
            print(f"trial {number}: its worker died; failed it and queued a retry", file=sys.stderr)
    distributions, _ = search_space(summary, settings.fixed_knobs())
    objective = Objective(
        team_dir,
        data_root,
        folder,
        settings,
        distributions,
        int(summary["image_size"]),
        name,
    )
    if finished_trials(study) >= settings.trials:
        return

    def save_best(study: optuna.Study, _: Any) -> None:
        write_best(study, folder, desc)

    marked = interrupt.MarkInterrupts(objective)
    try:
        with interrupt.quiet_interrupted_trials(marked.interrupted):
            study.optimize(
                marked,
                n_trials=settings.trials,
                timeout=settings.timeout_s,
                catch=(HarnessError,),
                callbacks=[interrupt.StopAtTrials(settings.trials), save_best],
            )
    except KeyboardInterrupt:
        # Ctrl-C: the running trial does not count and runs again first next time.
        interrupt.requeue(study, marked.interrupted)
        if say_interrupt:
            interrupt.say_stopped(study, settings.trials, marked.interrupted)
        raise


def _worker_entry(args: dict[str, Any]) -> None:
    os.environ["HARNESS_THREADS"] = str(args["threads"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        run_worker(
            Path(args["team_dir"]),
            Path(args["data_root"]),
            Path(args["tune_root"]),
            args["settings"],
            args["summary"],
            args["worker"],
            say_interrupt=False,  # the parent says it once for all workers
        )
    except KeyboardInterrupt:
        sys.exit(130)  # quietly: no "Process SpawnProcess-1" traceback


def tune_team(
    team_dir: Path,
    *,
    data_root: Path,
    tune_root: Path = DEFAULT_TUNE_ROOT,
    settings: TuneSettings,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """Run (or continue) a search and return its report; see the module docstring.

    A study that already has ``settings.trials`` finished trials runs nothing: ``say`` gets
    one line with its count and how to ask for more.
    """
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
    check_knobs(settings.batch_size, settings.max_steps, settings.overrides)
    team = runs.team_name(team_dir)
    settings = replace(settings, study=settings.study or team)
    with optuna_log_to_file(study_dir(tune_root, team, settings.study)):
        study, _, _ = open_study(team_dir, tune_root, settings)
        done = finished_trials(study)
    if done >= settings.trials:
        say(
            f"study {settings.study} already has {done} finished trials (--trials "
            f"{settings.trials}); nothing to run. Ask for more with --trials N above {done}, "
            f"e.g. --trials {done + 5} for five more"
        )
        return report(team_dir, tune_root=tune_root, study=settings.study, storage=settings.storage)
    summary = validate_team(team_dir, data_root)
    _, pinned = search_space(summary, settings.fixed_knobs())
    if pinned:
        say(
            f"fixed for every trial, so not searched: {format_params(pinned)} "
            "(the team's search space has them)"
        )
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
            context.Process(target=_worker_entry, args=({**args, "worker": i},))
            for i in range(settings.workers)
        ]
        for proc in procs:
            proc.start()
        try:
            for proc in procs:
                proc.join()
        except KeyboardInterrupt:
            interrupt.wait_then_stop(procs)
            name = settings.study or team
            storage, _ = open_storage(
                settings.storage, settings.workers, study_dir(tune_root, team, name)
            )
            interrupt.say_stopped(
                optuna.load_study(study_name=name, storage=storage), settings.trials, None
            )
            raise
        failed = [p.exitcode for p in procs if p.exitcode]
        if failed:
            raise HarnessError(
                f"{len(failed)} tuning worker(s) exited with codes {failed}; see the log above"
            )
    return report(team_dir, tune_root=tune_root, study=settings.study, storage=settings.storage)
