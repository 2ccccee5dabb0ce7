"""Where Optuna studies live, and how a dead worker's trial gets another chance.

SQLite under the study folder by default; Optuna's journal file when several workers on one
machine share a study; any RDB URL (PostgreSQL) for workers on several machines. RDB storages
keep a heartbeat, so a killed worker's trial is failed and retried by Optuna itself; the journal
backend has none, so :func:`recover_orphaned_trials` does the same for workers on this host.
"""

from __future__ import annotations

import fcntl
import os
import socket
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from harness.errors import HarnessError


def study_dir(tune_root: Path, team: str, study: str) -> Path:
    """``tune/<team>/<study>/``: the storage (by default), best.json, plots, trial runs."""
    return Path(tune_root) / team / study


def _journal_path(spec: str) -> Path | None:
    if spec.startswith("journal:"):
        return Path(spec[len("journal:") :])
    if spec.endswith((".journal", ".log")) and "://" not in spec:
        return Path(spec)
    return None


def default_storage(workers: int, folder: Path) -> str:
    """The storage a study folder uses when ``--storage`` is not given.

    An existing study keeps its storage; a new one gets SQLite, or a journal file when several
    workers will share it (SQLite handles one writer at a time badly).
    """
    sqlite, journal = folder / "study.db", folder / "study.journal"
    if sqlite.exists():
        if workers > 1:
            raise HarnessError(
                f"study in {sqlite} is SQLite, which several workers cannot share; continue it with "
                "--workers 1, or start a new --study for parallel workers"
            )
        return f"sqlite:///{sqlite}"
    if journal.exists() or workers > 1:
        return str(journal)
    return f"sqlite:///{sqlite}"


def open_storage(storage: str | None, workers: int, folder: Path) -> tuple[Any, str]:
    """The Optuna storage for a study and a URL-like description of it.

    Args:
        storage: an RDB URL, a ``.journal`` path (or ``journal:PATH``), or None for the default.
        workers: worker processes that will share it on this machine.
        folder: the study folder, home of the default storages.
    """
    from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend

    folder.mkdir(parents=True, exist_ok=True)
    spec = storage or default_storage(workers, folder)
    journal = _journal_path(spec)
    if journal is not None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(journal))), f"journal:{journal}"
    if workers > 1 and spec.startswith("sqlite"):
        raise HarnessError(
            "--workers above 1 needs a storage that several processes can share: leave --storage "
            "out (a journal file is used), or give a journal file or a PostgreSQL URL"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            rdb = RDBStorage(
                spec,
                heartbeat_interval=30,
                grace_period=120,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
            )
    except Exception as exc:  # bad URL, driver missing, server down
        raise HarnessError(f"cannot open Optuna storage {spec!r}: {exc}") from None
    return rdb, spec


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_orphaned_trials(study: optuna.Study, folder: Path) -> list[int]:
    """Fail and re-enqueue RUNNING trials whose worker process on this host has died.

    This is the journal storage's stand-in for the RDB heartbeat. A lock file keeps two
    workers starting at once from re-enqueueing the same trial twice.
    """
    host = socket.gethostname()
    recovered = []
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".recover.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = str(trial.user_attrs.get("worker", ""))
            owner_host, _, pid = owner.rpartition(":")
            if owner_host != host or not pid.isdigit() or _alive(int(pid)):
                continue
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            recovered.append(trial.number)
    return recovered
