#!/usr/bin/env bash
# Install the harness into .venv and run the whole loop once: data, a short training of
# team2, scoring, and the ranked leaderboard. Pass --data PATH (or set HARNESS_DATA) to use
# your copy of the face-mask dataset; without one it downloads it, and offline it falls
# back to a synthetic demo set whose scores mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
.venv/bin/python -m pip install --quiet -e .
.venv/bin/harness quickstart "$@"
