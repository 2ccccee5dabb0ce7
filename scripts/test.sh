#!/usr/bin/env bash
# Install the harness with its test tools into .venv, then lint and run the test suite.
# Used as-is by CI (.ci/run). Python 3.10+; torch comes from the pinned wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -n auto --dist worksteal "$@"
