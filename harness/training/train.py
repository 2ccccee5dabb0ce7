"""Training a team's GAN, parent side: validate, prepare the data, start the child.

:func:`train_team` validates the spec in a child, builds the uint8 cache of the ``train`` split
at the spec's image size, creates or reopens the run folder, then starts the training child
(:mod:`harness.training.trainer`) with a path to that cache and nothing else of the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.sandbox.runner import Limits, forbidden_paths, run_child
from harness.training import runs

VALIDATE_TIMEOUT_S = 300.0


def validate_team(team_dir: Path, data_root: Path | None = None) -> dict[str, Any]:
    """Run :mod:`harness.training.validate` in a child; returns its summary or raises SpecError."""
    team = runs.team_name(team_dir)
    request = {"team_dir": str(Path(team_dir).resolve())}
    if data_root is not None:
        request["forbidden_paths"] = forbidden_paths(data_root)
    return run_child("validate", request, label=team, limits=Limits(timeout_s=VALIDATE_TIMEOUT_S))


def train_team(
    team_dir: Path,
    *,
    data_root: Path,
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
        data_root: dataset folder; only its ``train`` split is decoded for the child.
        runs_root: parent of ``<team>/<run_id>``.
        overrides: TrainConfig fields and hparams to change from the spec's defaults.
        device: ``auto``, ``cpu``, ``cuda``...
        resume: a run id, ``"latest"``, or None for a new run.
        timeout_s: stop the child after this many seconds (None: no limit).
        memory_gib: stop the child when its memory exceeds this (None: no limit).
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
    from harness.device import PRECISIONS

    if precision not in PRECISIONS:
        raise HarnessError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    team = runs.team_name(team_dir)
    team_dir = Path(team_dir).resolve()
    if resume:
        # The run already passed validation; its size is on record.
        run_dir = runs.find_run(runs_root, team, None if resume == "latest" else resume)
        previous = runs.read_config(run_dir)
        size = int(previous["image_size"])
        subset = previous.get("subset", subset)
    else:
        size = image_size or int(validate_team(team_dir, data_root)["image_size"])
    cache = data_cache.cached_split(data_root, "train", size, subset=subset)  # type: ignore[arg-type]
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
                "data_fingerprint_train": data.split_fingerprint(data_root, "train"),
                "subset": subset,
                "image_size": size,
                "overrides": overrides,
                "trial_params": trial_params,
                "params_source": params_source,
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
        "forbidden_paths": forbidden_paths(data_root),
    }
    limits = Limits(timeout_s=timeout_s, memory_gib=memory_gib)
    return run_child("train", request, label=team, limits=limits, log_path=run_dir / "error.log")
