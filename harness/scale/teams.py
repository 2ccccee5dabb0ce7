"""Every team at once: ``train --all``, ``score --all`` and ``tune --workers K`` scaled out.

Each function turns the command's arguments into one task per team (or worker), runs them
through :func:`harness.scale.executors.run_jobs`, and reports each outcome the way the
sequential command does. Scoring rows travel through the leaderboard spool
(:mod:`harness.board.spool`): every job writes its row to a file of its own and this process
merges it into the CSV as soon as the job is done, so that jobs on different nodes finishing
at once lose no row and none lands twice.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.scale import tasks as jobs_mod
from harness.scale.executors import run_jobs
from harness.scale.plan import ScaleSettings
from harness.training import runs

Say = Callable[[str], None]


def _with_folder(settings: ScaleSettings, default: Path) -> ScaleSettings:
    folder = settings.slurm.folder or default
    return dataclasses.replace(
        settings, slurm=dataclasses.replace(settings.slurm, folder=Path(folder).resolve())
    )


def submission_id() -> str:
    """A name for one ``--all`` invocation: when it started, plus randomness."""
    return f"{runs.utc_now().replace(':', '').replace('-', '')[:15]}-{secrets.token_hex(3)}"


def train_all(
    team_dirs: Sequence[Path],
    *,
    data_root: Path,
    runs_root: Path,
    overrides: dict[str, Any],
    settings: ScaleSettings,
    device: str = "auto",
    precision: str = "auto",
    timeout_s: float | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    say: Say,
) -> list[dict[str, Any]]:
    """Train every team; returns one outcome per team (``status`` ``ok`` or ``failed``).

    With one job on this machine the teams train one after another in this process; with
    ``--jobs K`` K at a time; on Slurm one array job per team. The same seeds give the same
    runs whichever way they ran.
    """
    from harness import data

    data.list_split(data_root, "train")  # a wrong data folder is one error, before any job
    settings = _with_folder(settings, Path(runs_root) / ".submitit")
    base = jobs_mod.TrainTask(
        team_dir="",
        data_root=str(Path(data_root).resolve()),
        runs_root=str(Path(runs_root).resolve()),
        overrides=dict(overrides),
        device=device,
        precision=precision,
        timeout_s=timeout_s,
    )
    tasks = [dataclasses.replace(base, team_dir=str(Path(t).resolve())) for t in team_dirs]
    labels = [Path(t).name for t in team_dirs]

    def assign(task: jobs_mod.TrainTask, slot_device: str, threads: int | None) -> Any:
        chosen = task.device if slot_device == "auto" else slot_device
        return dataclasses.replace(
            task, device=chosen, env=jobs_mod.job_environment(threads) if threads else task.env
        )

    def failed(index: int, error: str) -> dict[str, Any]:
        return {"team": labels[index], "status": jobs_mod.STATUS_FAILED, "error": error}

    def done(index: int, outcome: dict[str, Any]) -> None:
        if on_done is not None:
            on_done(outcome)

    if settings.cluster is not None:
        tasks = [dataclasses.replace(t, env=jobs_mod.job_environment(None)) for t in tasks]
    return run_jobs(
        jobs_mod.train_job,
        tasks,
        labels=labels,
        settings=settings,
        assign=assign,
        failed=failed,
        on_done=done,
        say=say,
        name="harness-train",
    )


def _run_sizes(runs_root: Path, team_dirs: Sequence[Path], run_id: str | None) -> list[int]:
    """Image sizes of the runs that will be scored (teams without a run are skipped: their
    jobs report that themselves)."""
    from harness.errors import HarnessError

    sizes = set()
    for team_dir in team_dirs:
        try:
            run_dir = runs.find_run(runs_root, runs.team_name(team_dir), run_id)
            sizes.add(int(runs.read_config(run_dir)["image_size"]))
        except (HarnessError, KeyError, ValueError):
            continue
    return sorted(sizes)


def score_all(
    team_dirs: Sequence[Path],
    *,
    data_root: Path,
    runs_root: Path,
    board_path: Path,
    score_settings: Any,
    settings: ScaleSettings,
    run_id: str | None = None,
    labels: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    say: Say,
) -> list[dict[str, Any]]:
    """Score every team through jobs; each row reaches ``board_path`` through the spool.

    First the shared caches (real statistics, the label classifier) are filled once, here
    or in one job on the cluster; then one job per team samples and measures. Rows left in
    the spool by an earlier, interrupted submission are merged first.
    """
    from harness import data
    from harness.board.spool import ROW_ID, make_row_id, merge_spool, spool_dir, spool_row
    from harness.scoring.score import Scorer
    from harness.scoring.strips import strips_dir

    data_root, runs_root = Path(data_root).resolve(), Path(runs_root).resolve()
    data.list_split(data_root, "test")  # a wrong data folder is one error, before any job
    board_path = Path(board_path).resolve()
    spool = spool_dir(board_path)
    earlier = merge_spool(spool, board_path)
    if earlier:
        say(f"merged {len(earlier)} row(s) left in {spool} by an earlier submission")
    settings = _with_folder(settings, runs_root / ".submitit")
    env = jobs_mod.job_environment(None)
    prepare = jobs_mod.PrepareTask(
        data_root=str(data_root),
        sizes=tuple(_run_sizes(runs_root, team_dirs, run_id)),
        settings=score_settings,
        labels=labels,
        env=env,
    )
    if prepare.sizes:
        say(f"preparing real statistics and the label classifier at {list(prepare.sizes)} px")
        if settings.cluster is None:
            jobs_mod.prepare_job(prepare)
        else:
            run_jobs(
                jobs_mod.prepare_job,
                [prepare],
                labels=["prepare"],
                settings=settings,
                assign=lambda task, device, threads: task,
                failed=lambda index, error: {"status": jobs_mod.STATUS_FAILED, "error": error},
                on_done=lambda index, outcome: _check_prepared(outcome),
                say=say,
                name="harness-prepare",
            )
    submission = submission_id()
    names = [Path(t).name for t in team_dirs]
    tasks = [
        jobs_mod.ScoreTask(
            team_dir=str(Path(t).resolve()),
            data_root=str(data_root),
            runs_root=str(runs_root),
            settings=score_settings,
            spool=str(spool),
            row_id=make_row_id(submission, i, names[i]),
            run_id=run_id,
            labels=labels,
            env=env,
            strips=str(strips_dir(board_path)),
        )
        for i, t in enumerate(team_dirs)
    ]
    scorer = Scorer(data_root=data_root, runs_root=runs_root, settings=score_settings, say=say)

    def assign(task: jobs_mod.ScoreTask, slot_device: str, threads: int | None) -> Any:
        chosen = task.settings.device if slot_device == "auto" else slot_device
        return dataclasses.replace(
            task,
            settings=dataclasses.replace(task.settings, device=chosen),
            env=jobs_mod.job_environment(threads) if threads else task.env,
        )

    def failed(index: int, error: str) -> dict[str, Any]:
        row = scorer.failed_row(names[index], error, run_id)
        row[ROW_ID] = tasks[index].row_id
        spool_row(row, spool)  # the job wrote nothing; its failure is a row like any other
        return row

    def done(index: int, row: dict[str, Any]) -> None:
        merge_spool(spool, board_path)
        if row.get("status") == "ok":
            say(f"{names[index]}: score {row['score']:.2f}")
        else:
            say(f"{names[index]}: failed: {row.get('error')}")
        if on_row is not None:
            on_row(row)

    return run_jobs(
        jobs_mod.score_job,
        tasks,
        labels=names,
        settings=settings,
        assign=assign,
        failed=failed,
        on_done=done,
        say=say,
        name="harness-score",
    )


def _check_prepared(outcome: dict[str, Any]) -> None:
    from harness.errors import HarnessError

    if outcome.get("status") != jobs_mod.STATUS_OK:
        raise HarnessError(f"preparing the scoring caches failed: {outcome.get('error')}")


def tune_on_cluster(
    team_dir: Path,
    *,
    data_root: Path,
    tune_root: Path,
    tune_settings: Any,
    settings: ScaleSettings,
    say: Say,
) -> dict[str, Any]:
    """``harness tune --workers K --executor slurm``: K worker jobs on one shared study.

    The study must live where every node reaches it: Optuna's journal file on the shared
    filesystem (the default with several workers) or a PostgreSQL URL; SQLite is refused.
    """
    from harness import data
    from harness.errors import HarnessError
    from harness.training.train import validate_team
    from harness.tuning.report import report
    from harness.tuning.storage import open_storage, study_dir
    from harness.tuning.tune import make_pruner

    s = tune_settings
    if s.trials < 1 or s.workers < 1 or s.epochs < 1 or s.report_every < 1:
        raise HarnessError("--trials, --workers, --epochs and --report-every must be at least 1")
    make_pruner(s.pruner)
    data.list_split(data_root, "train")
    team = runs.team_name(team_dir)
    s = dataclasses.replace(s, study=s.study or team, workers=max(s.workers, 2))
    tune_root = Path(tune_root).resolve()
    _, described = open_storage(s.storage, s.workers, study_dir(tune_root, team, s.study))
    if s.storage is None:
        # Every worker must open the journal file at the same absolute path.
        s = dataclasses.replace(s, storage=described.removeprefix("journal:"))
    summary = validate_team(team_dir, data_root)
    settings = _with_folder(settings, tune_root / ".submitit")
    task = jobs_mod.TuneTask(
        team_dir=str(Path(team_dir).resolve()),
        data_root=str(Path(data_root).resolve()),
        tune_root=str(tune_root),
        settings=s,
        summary=summary,
        env=jobs_mod.job_environment(settings.slurm.cpus_per_job),
    )
    count = tune_settings.workers
    settings = dataclasses.replace(settings, jobs=count)
    outcomes = run_jobs(
        jobs_mod.tune_job,
        [task] * count,
        labels=[f"worker {i}" for i in range(count)],
        settings=settings,
        assign=lambda t, device, threads: t,
        failed=lambda index, error: {"status": jobs_mod.STATUS_FAILED, "error": error},
        on_done=lambda index, outcome: say(
            f"worker {index}: {outcome['status']}"
            + (f": {outcome['error']}" if outcome.get("error") else "")
        ),
        say=say,
        name="harness-tune",
    )
    result = report(team_dir, tune_root=tune_root, study=s.study, storage=s.storage)
    result["workers"] = outcomes
    return result
