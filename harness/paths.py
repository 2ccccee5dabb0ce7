"""Where the harness reads data and writes caches and runs.

Each location follows one precedence: command-line flag, then environment variable, then (for
the data folder) the user's settings file, then a default relative to the working directory
(or the user cache folder). Nothing here points at a
particular machine: the data sits wherever the user says it does.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "HARNESS_DATA"
CACHE_ENV = "HARNESS_CACHE"
RUNS_ENV = "HARNESS_RUNS"
DEFAULT_DATA = Path("data") / "facemask"
DEFAULT_RUNS = Path("runs")


def data_root(flag: Path | None = None) -> Path:
    """The dataset folder: ``--data``, else ``$HARNESS_DATA``, else the user's settings file
    (``harness config set data DIR``), else ``data/facemask``."""
    return data_root_source(flag)[0]


def data_root_source(flag: Path | None = None) -> tuple[Path, str]:
    """The dataset folder and where it came from, in words (``harness doctor`` shows both)."""
    if flag is not None:
        return Path(flag).expanduser(), "--data"
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser(), f"${DATA_ENV}"
    from harness.settings import read_settings

    settings = read_settings()
    recorded = settings.get("data")
    if recorded:
        return Path(recorded).expanduser(), f"settings file {settings.path}"
    return DEFAULT_DATA, "the default"


def cache_root() -> Path:
    """The cache folder for decoded images, real statistics and classifiers.

    ``$HARNESS_CACHE``, else ``$XDG_CACHE_HOME/harness``, else ``~/.cache/harness``. It lives
    outside the data folder because data folders are often read-only (shared mounts).
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "harness"


def runs_root(flag: Path | None = None) -> Path:
    """The folder that holds ``<team>/<run_id>/``: ``--runs``, ``$HARNESS_RUNS``, ``runs``."""
    if flag is not None:
        return Path(flag).expanduser()
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser() if env else DEFAULT_RUNS
