#!/usr/bin/env bash
# The GPU board in three stages (see docs/guide/gpu-board.md):
#
#     bash scripts/gpu_board.sh pack  [--data ../shared/facemask]   # here: wheels + train split
#     bash scripts/gpu_board.sh remote                              # there, on the offline GPU
#     bash scripts/gpu_board.sh collect                             # there, a second call
#     bash scripts/gpu_board.sh score --returned DIR [DIR ...]      # back here
#
# PYTHON selects the interpreter (default: python3). Arguments go to scripts/gpu_board.py.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "${PYTHON:-python3}" "$HERE/gpu_board.py" "$@"
