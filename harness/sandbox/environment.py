"""The environment a job that runs team code starts with: an allow-list, in one place.

Under strict isolation the child's environment is built from :data:`PASSED` (and the
:data:`PASSED_PREFIXES`) of the parent's, plus what the sandbox itself sets: a private
``HOME`` and ``TMPDIR``, a plain ``PATH``, and the ``PYTHONPATH`` that finds the harness.
Nothing else crosses: no tokens, no ``HARNESS_DATA``, no paths into the user's home. A
variable a team needs (a thread count, a CUDA setting) is added here, by name.

Soft isolation keeps today's rule, the parent's environment minus the harness's own
variables that point at data, caches and runs, so that a machine without bubblewrap behaves
as it did before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PASSED: tuple[str, ...] = (
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "COLUMNS",
    "LINES",
    "NO_COLOR",
    "FORCE_COLOR",
    "HARNESS_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "PYTORCH_CUDA_ALLOC_CONF",
    "CUBLAS_WORKSPACE_CONFIG",
    "LD_LIBRARY_PATH",
)
PASSED_PREFIXES: tuple[str, ...] = ("LC_",)
SCRUBBED_SOFT: tuple[str, ...] = ("HARNESS_DATA", "HARNESS_CACHE", "HARNESS_RUNS", "HARNESS_CONFIG")
SANDBOX_HOME = "/tmp"
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
FIXED: dict[str, str] = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",  # team folders are read-only in the sandbox
    "NO_ALBUMENTATIONS_UPDATE": "1",  # albumentations asks PyPI for its version at import
    "MPLCONFIGDIR": f"{SANDBOX_HOME}/matplotlib",
}


def strict_env(harness_parent: Path, parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a sandboxed job: the allow-list of ``parent`` plus fixed values.

    Args:
        harness_parent: the folder holding the ``harness`` package, put on ``PYTHONPATH``.
        parent: the environment to pick from (default: this process's).
    """
    parent = os.environ if parent is None else parent
    env = {k: v for k, v in parent.items() if k in PASSED or k.startswith(PASSED_PREFIXES)}
    env.update(FIXED)
    env.update(
        HOME=SANDBOX_HOME,
        TMPDIR=SANDBOX_HOME,
        PATH=SANDBOX_PATH,
        PYTHONPATH=str(harness_parent),
    )
    return env


def soft_env(parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a job under soft isolation: the parent's minus the harness paths."""
    parent = os.environ if parent is None else parent
    env = {k: v for k, v in parent.items() if k not in SCRUBBED_SOFT}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
