"""Training a team's GAN, parent side: validate, prepare the data, start the child.

:func:`train_team` validates the spec in a child, builds the uint8 cache of the ``train`` split
at the spec's image size, creates or reopens the run folder, then starts the training child
(:mod:`harness.training.trainer`) with a path to that cache and nothing else of the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError, TeamCodeError
from harness.sandbox.limits import job_limits
from harness.sandbox.runner import JobAccess, forbidden_paths, run_child
from harness.training import runs


def validate_team(
    team_dir: Path,
    data_root: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    trial_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run :mod:`harness.training.validate` in a child; returns its summary or raises SpecError.

    The child sees the team folder only; ``data_root`` (default: ``--data``'s default) is
    among the paths its audit hook refuses as well. ``overrides`` and ``trial_params`` are
    checked against the spec there too (the summary's ``train_config`` is the result), so that
    training can refuse them before it makes a run folder.
    """
    from harness.paths import data_root as default_data_root

    team = runs.team_name(team_dir)
    team_dir = Path(team_dir).resolve()
    access = JobAccess(
        read_only=(str(team_dir),),
        hidden=tuple(forbidden_paths(data_root or default_data_root())),
    )
    return run_child(
        "validate",
        {"team_dir": str(team_dir), "overrides": overrides, "trial_params": trial_params},
        label=team,
        limits=job_limits("validate"),
        access=access,
    )


def train_team(
    team_dir: Path,
    *,
    data_root: Path | None,
    runs_root: Path,
    overrides: dict[str, Any],
    device: str = "auto",
    resume: str | None = None,
    timeout_s: float | None = None,
    memory_gib: float | None = None,
    params_source: dict[str, Any] | None = None,
    subset: str = "all",
    trial_params: dict[str, Any] | None = None,
    image_size: int | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Train (or resume) a team and return the child's summary, including ``run_dir``.

    Args:
        team_dir: ``submissions/<team>``.
        data_root: dataset folder; only its ``train`` split is decoded for the child. None:
            a resumed run's own recorded folder, else the default of
            :func:`harness.paths.data_root`.
        runs_root: parent of ``<team>/<run_id>``.
        overrides: TrainConfig fields and hparams to change from the spec's defaults.
        device: ``auto``, ``cpu``, ``cuda``...
        resume: a run id, ``"latest"``, or None for a new run.
        timeout_s: stop the child after this many seconds (None: the default of
            :mod:`harness.sandbox.limits`, 0: no limit).
        memory_gib: stop the child when its memory exceeds this (None: the default, 0: no
            limit).
        params_source: where the overrides came from (an Optuna study and trial), recorded.
        subset: ``all`` for the competition, ``fit`` when tuning (validation held back).
        trial_params: raw Optuna parameter values; the child turns them into overrides with
            the team's ``search_space`` on a fixed trial (explicit ``overrides`` win).
        image_size: the spec's image size when the caller has validated the team already
            (tuning does, once per study); None validates it here first.
        precision: ``fp32``, ``bf16`` or ``auto`` (bf16 on a GPU that has it, else fp32; a
            resumed run keeps the precision it was started with).
    """
    from harness import data
    from harness.data import cache as data_cache
    from harness.device import PRECISIONS, resolve_device
    from harness.paths import data_root as default_data_root
    from harness.sandbox.isolation import isolation_in_use, weakest
    from harness.training.resume import resume_command, run_data_root

    if precision not in PRECISIONS:
        raise HarnessError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    # Everything a user can get wrong is checked before a run folder exists: a rejected
    # option must not leave a `created` run behind (issue 22).
    resolve_device(device)
    limits = job_limits("train", timeout_s=timeout_s, memory_gib=memory_gib)
    team = runs.team_name(team_dir)
    given_team_dir = team_dir
    team_dir = Path(team_dir).resolve()
    train_config: dict[str, Any] | None = None
    if resume:
        # The run already passed validation; its size is on record.
        run_dir = runs.find_run(runs_root, team, None if resume == "latest" else resume)
        previous = runs.read_config(run_dir)
        data_root = run_data_root(previous, data_root)
        size = int(previous["image_size"])
        subset = previous.get("subset", subset)
        isolation = weakest(previous.get("isolation", "soft"), isolation_in_use())
    else:
        data_root = data_root if data_root is not None else default_data_root()
        isolation = isolation_in_use()
        if image_size:
            size = image_size  # validated by the caller (tuning), knobs included
        else:
            summary = validate_team(
                team_dir, data_root, overrides=overrides, trial_params=trial_params
            )
            size, train_config = int(summary["image_size"]), summary["train_config"]
    cache = data_cache.cached_split(data_root, "train", size, subset=subset)  # type: ignore[arg-type]
    if train_config is not None and int(train_config["batch_size"]) > len(cache.labels):
        raise HarnessError(
            f"batch size {train_config['batch_size']} is larger than the {len(cache.labels)} "
            "training images; lower --batch-size"
        )
    if not resume:
        run_dir = runs.new_run_dir(runs_root, team)
        runs.write_config(
            run_dir,
            {
                "team": team,
                "run_id": run_dir.name,
                "created": runs.utc_now(),
                "team_dir": str(team_dir),
                "submission_commit": runs.git_commit(team_dir),
                "data_root": str(Path(data_root).resolve()),
                "data_fingerprint_train": data.split_fingerprint(data_root, "train"),
                "subset": subset,
                "image_size": size,
                "overrides": overrides,
                "trial_params": trial_params,
                "params_source": params_source,
                "isolation": isolation,
                "status": "created",
            },
        )
    request = {
        "team_dir": str(team_dir),
        "run_dir": str(Path(run_dir).resolve()),
        "train_cache": str(cache.folder),
        "overrides": overrides,
        "trial_params": trial_params,
        "device": device,
        "precision": precision,
        "resume": bool(resume),
        "resume_command": resume_command(given_team_dir, runs_root, run_dir.name, device),
    }
    access = JobAccess(
        read_only=(str(team_dir), str(cache.folder)),
        writable=(str(run_dir),),
        # The run folder is team-writable, so a recorded data folder is not trusted to be the
        # only one to hide: the default one is hidden as well.
        hidden=tuple(
            dict.fromkeys([*forbidden_paths(data_root), *forbidden_paths(default_data_root())])
        ),
    )
    try:
        result = run_child(
            "train",
            request,
            label=team,
            limits=limits,
            log_path=run_dir / "error.log",
            access=access,
        )
    finally:
        _stamp_isolation(run_dir, isolation)
    if result["run_dir"] != request["run_dir"]:
        raise TeamCodeError(
            f"{team}: the training job reported run {result['run_dir']}, not the one it was "
            "given; team code may have written the result"
        )
    return result


def _stamp_isolation(run_dir: Path, isolation: str) -> None:
    """Record the weakest isolation the run was trained under, after the child has ended:
    config.json is in the run folder, which team code may write, so the parent has the last
    word on this field."""
    try:
        config = runs.read_config(run_dir)
    except (OSError, ValueError):
        return
    if config.get("isolation") != isolation:
        config["isolation"] = isolation
        runs.write_config(run_dir, config)
