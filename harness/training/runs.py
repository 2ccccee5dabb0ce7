"""Run folders: ``runs/<team>/<run_id>/`` with config.json, metrics.jsonl, checkpoints, samples.

Run ids are UTC timestamps, so sorting names sorts runs by start time and the latest run of a
team is the last name that holds a ``config.json``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import atomic
from harness.errors import HarnessError, NotTrainedError, RunNotFoundError

# A plain identifier: letters, digits, '_', '-', '.', not starting with '-' or '.'. A name
# that a spreadsheet reads as a formula ('=', '+', '-', '@'), a shell or Markdown reads as
# syntax (';', '|'), or that holds a newline never becomes a row, a run folder or a column.
TEAM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
TEAM_NAME_RULE = "use letters, digits, '_', '-' or '.', not starting with '-' or '.'"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"


def usable_team_name(name: str) -> bool:
    """Whether ``name`` is a plain identifier (:data:`TEAM_NAME`), safe as a file name, a
    board cell and a column value."""
    return TEAM_NAME.fullmatch(name) is not None


def refused_team_line(name: str) -> str:
    """The one line that names a refused team folder (shown with ``repr``, so that a newline
    or an escape sequence in it cannot forge further lines on the terminal)."""
    return f"team folder name {name!r} is not usable, so it gets no row; {TEAM_NAME_RULE}"


def team_name(team_dir: Path) -> str:
    """The team's name, its folder's name, checked to be safe as a file and column name."""
    name = Path(team_dir).resolve().name
    if not usable_team_name(name):
        raise HarnessError(refused_team_line(name))
    return name


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, for records."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def new_run_dir(runs_root: Path, team: str) -> Path:
    """Create and return a fresh ``runs/<team>/<run_id>/``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(runs_root) / team
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1000):
        candidate = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise HarnessError(f"could not create a run folder under {base}")


def list_runs(runs_root: Path, team: str) -> list[Path]:
    """All runs of a team that got as far as writing a config, oldest first."""
    base = Path(runs_root) / team
    if not base.is_dir():
        return []
    from harness.sandbox.safe_files import entry_kind

    # A config.json that is a link (even a dangling one) still lists the run, so that reading
    # it refuses the link by name rather than the run vanishing without a word.
    return sorted(
        p for p in base.iterdir() if p.is_dir() and entry_kind(p / CONFIG, root=p) != "missing"
    )


def find_run(runs_root: Path, team: str, run_id: str | None = None) -> Path:
    """The named run, or the latest one that has a checkpoint.

    Raises:
        RunNotFoundError: no such run.
        NotTrainedError: the team has no trained run; says how to make one.
    """
    runs = list_runs(runs_root, team)
    if run_id:
        for run in runs:
            if run.name == run_id:
                return run
        known = ", ".join(r.name for r in runs[-5:]) or "none"
        raise RunNotFoundError(
            f"team {team} has no run {run_id!r} under {runs_root} (recent: {known})"
        )
    trained = [r for r in runs if latest_checkpoint(r, missing_ok=True) is not None]
    if not trained:
        raise NotTrainedError(
            f"team {team} has no trained run under {runs_root}; run `harness train submissions/{team}`"
        )
    return trained[-1]


def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json, read without following a link out of the run folder (team code
    writes there: a config.json linked to the split file must not be read, nor rewritten as
    a copy of it).

    Raises:
        UnsafeFileError: config.json (or a folder on the way) is a link, not a regular file,
            or too large.
        OSError, ValueError: it is missing or not JSON.
    """
    from harness.sandbox.safe_files import read_json

    config = read_json(Path(run_dir) / CONFIG, root=Path(run_dir))
    if not isinstance(config, dict):
        raise ValueError(f"{Path(run_dir) / CONFIG} does not hold a JSON object")
    return config


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Atomically (re)write the run's config.json."""
    atomic.write_text(Path(run_dir) / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")


def latest_checkpoint(run_dir: Path, *, missing_ok: bool = False) -> Path | None:
    """The newest checkpoint named by ``checkpoints/latest.json``."""
    from harness.sandbox.safe_files import UnsafeFileError, entry_kind, read_json, require_plain

    run_dir = Path(run_dir)
    pointer = run_dir / CHECKPOINTS / "latest.json"
    if entry_kind(pointer, root=run_dir) != "missing":
        try:
            name = read_json(pointer, root=run_dir).get("file")
        except (OSError, ValueError, AttributeError):
            name = None
        if name is not None and (not isinstance(name, str) or Path(name).name != name):
            raise UnsafeFileError(
                f"{pointer} names {str(name)[:80]!r}, not a file in {CHECKPOINTS}/; the "
                "harness reads checkpoints only inside the run folder: train a new run"
            )
        if name and entry_kind(run_dir / CHECKPOINTS / name, root=run_dir) != "missing":
            return require_plain(run_dir / CHECKPOINTS / name, root=run_dir)
    if missing_ok:
        return None
    raise RunNotFoundError(f"run {run_dir} has no checkpoint yet; train it first")


def git_commit(path: Path) -> str:
    """The commit of the repository holding ``path`` (``+dirty`` if it has local changes).

    A team folder that is a repository of its own (a ``.git`` inside it, made by the team) is
    not asked: its config could name programs that ``git status`` runs (``core.fsmonitor``),
    in the parent, outside any sandbox. Its commit is recorded as ``unknown``.
    """
    if os.path.lexists(Path(path) / ".git"):
        return "unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")
