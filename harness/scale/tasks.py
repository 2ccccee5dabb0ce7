"""The jobs themselves: one team's training, one team's scoring, one tuning worker.

Each is a module-level function of one frozen dataclass, so that a process pool and submitit
can pickle it by reference and run it in another process or on another node. A job calls the
same code a sequential run calls (``train_team``, ``Scorer.score_teams``, ``run_worker``), so
team code still runs only in the sandboxed child those start. A job never raises for a team's
fault: it returns an outcome (``status`` ``ok`` or ``failed``), as ``score --all`` always has.

Everything a job must find on its node travels in the task: absolute paths, and the few
environment variables that locate caches and weights (:func:`job_environment`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

STATUS_OK = "ok"
STATUS_FAILED = "failed"
FORWARDED_ENV = ("TORCH_HOME", "HARNESS_OFFLINE", "HARNESS_DEBUG")


def job_environment(threads: int | None) -> dict[str, str]:
    """Variables a job sets before it starts: the cache folder (absolute, so that a job on
    another node finds the same one on the shared filesystem), the weights' home, and the
    job's thread count when it shares the machine's cores."""
    from harness.device import THREADS_ENV
    from harness.paths import CACHE_ENV, cache_root

    env = {CACHE_ENV: str(cache_root().resolve())}
    for name in FORWARDED_ENV:
        if os.environ.get(name):
            env[name] = os.environ[name]
    if "TORCH_HOME" in env:
        env["TORCH_HOME"] = str(Path(env["TORCH_HOME"]).resolve())
    if threads is not None:
        env[THREADS_ENV] = str(threads)
    return env


def _enter(env: dict[str, str]) -> None:
    os.environ.update(env)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TrainTask:
    """One team's training: what ``harness train`` would be given for it."""

    team_dir: str
    data_root: str
    runs_root: str
    overrides: dict[str, Any]
    device: str = "auto"
    precision: str = "auto"
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)


def train_job(task: TrainTask) -> dict[str, Any]:
    """Train one team; returns ``train_team``'s summary with ``team`` and ``status``."""
    _enter(task.env)
    from harness.training import runs
    from harness.training.train import train_team

    team = runs.team_name(Path(task.team_dir))
    try:
        result = train_team(
            Path(task.team_dir),
            data_root=Path(task.data_root),
            runs_root=Path(task.runs_root),
            overrides=dict(task.overrides),
            device=task.device,
            precision=task.precision,
            timeout_s=task.timeout_s,
        )
    except HarnessError as exc:
        return {"team": team, "status": STATUS_FAILED, "error": str(exc)}
    # The outcome's status says whether the job succeeded; the run's own ("complete",
    # "max_steps") stays in the summary as ``run_status``.
    return {
        **result,
        "team": team,
        "status": STATUS_OK,
        "error": "",
        "run_status": result.get("status"),
    }


@dataclass(frozen=True)
class ScoreTask:
    """One team's scoring; its row goes to ``spool`` under ``row_id`` and is returned."""

    team_dir: str
    data_root: str
    runs_root: str
    settings: Any  # harness.scoring.score.ScoreSettings
    spool: str
    row_id: str
    run_id: str | None = None
    labels: bool = True
    env: dict[str, str] = field(default_factory=dict)
    strips: str | None = None  # the board's strips folder (harness.scoring.strips)


def score_job(task: ScoreTask) -> dict[str, Any]:
    """Score one team as ``score --all`` does (a failure is a ``failed`` row) and spool it."""
    _enter(task.env)
    from harness.board.spool import ROW_ID, spool_row
    from harness.scoring.score import Scorer

    judge = None
    if task.labels:
        from harness.scoring.label_fidelity import LabelJudge

        judge = LabelJudge(Path(task.data_root), device=task.settings.device, say=_say)
    scorer = Scorer(
        data_root=Path(task.data_root),
        runs_root=Path(task.runs_root),
        settings=task.settings,
        say=_say,
        label_judge=judge,
        strips=Path(task.strips) if task.strips else None,
    )
    (row,) = scorer.score_teams([Path(task.team_dir)], run_id=task.run_id)
    row[ROW_ID] = task.row_id
    spool_row(row, Path(task.spool))
    return row


@dataclass(frozen=True)
class PrepareTask:
    """Caches every scoring job reads: real statistics and the label classifier per size."""

    data_root: str
    sizes: tuple[int, ...]
    settings: Any  # harness.scoring.score.ScoreSettings
    labels: bool = True
    env: dict[str, str] = field(default_factory=dict)


def prepare_job(task: PrepareTask) -> dict[str, Any]:
    """Fill the shared caches once, before the teams' jobs start, so that K jobs do not each
    compute the same statistics and classifier, and every job reads the very numbers a
    sequential run would."""
    _enter(task.env)
    from harness import device
    from harness.classes import NUM_CLASSES
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.reference import class_reference

    root = Path(task.data_root)
    dev = device.resolve_device(task.settings.device)
    device.configure(dev)
    extractor = InceptionFeatures(
        dims=task.settings.dims, device=dev, batch_size=task.settings.batch_size
    )
    judge = None
    if task.labels:
        from harness.scoring.label_fidelity import LabelJudge

        judge = LabelJudge(root, device=task.settings.device, say=_say)
    for size in task.sizes:
        for label in range(NUM_CLASSES):
            class_reference(root, label, size, extractor)
        if judge is not None:
            judge.judge(size)
    return {"status": STATUS_OK, "sizes": list(task.sizes)}


@dataclass(frozen=True)
class TuneTask:
    """One tuning worker on a study that every worker shares (journal file or PostgreSQL)."""

    team_dir: str
    data_root: str
    tune_root: str
    settings: Any  # harness.tuning.tune.TuneSettings
    summary: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)


def tune_job(task: TuneTask) -> dict[str, Any]:
    """Run trials until the study has enough; returns ``ok`` or the error that stopped it."""
    _enter(task.env)
    import optuna

    from harness.tuning.tune import run_worker

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        run_worker(
            Path(task.team_dir),
            Path(task.data_root),
            Path(task.tune_root),
            task.settings,
            task.summary,
        )
    except HarnessError as exc:
        return {"status": STATUS_FAILED, "error": str(exc)}
    return {"status": STATUS_OK, "error": ""}
