#!/usr/bin/env bash
# The GPU benchmark in one command, for a machine with CUDA: team2's training throughput
# and the harness's FID features against pytorch-fid, as one JSON report on stdout
# (progress on stderr). It installs nothing: it checks that the packages are there and
# says which are missing.
#
#     bench/gpu.sh --data ../shared/facemask [--steps 200] [--batch-size 512] [--n 1000]
#     bench/gpu.sh --data DIR --device cpu --steps 2 --batch-size 8 --n 8   # CPU dry run
#
# PYTHON selects the interpreter (default: python). Arguments go to bench/gpu_report.py.
set -euo pipefail
PYTHON=${PYTHON:-python}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

missing=$("$PYTHON" - <<'PY'
import importlib.util
names = ["torch", "torchvision", "pytorch_fid", "albumentations", "optuna", "pandas", "harness"]
print(" ".join(n for n in names if importlib.util.find_spec(n) is None))
PY
)
if [ -n "$missing" ]; then
    echo "error: $PYTHON lacks: $missing; install them first (offline: pip install --no-index --find-links WHEELS ...)" >&2
    exit 2
fi
exec "$PYTHON" "$HERE/gpu_report.py" "$@"
