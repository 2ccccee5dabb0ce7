"""A stand-in Slurm on PATH that really runs what it is given: ``sbatch`` starts the script
as a background process group (with the SLURM_* variables a job sees), ``srun`` runs its
command with the ``--output``/``--error`` files Slurm would open, ``sacct`` reports each job
as Slurm's accounting does (PENDING, RUNNING, COMPLETED, FAILED; NODE_FAIL when the job's
processes vanished without an exit status: killed, as a lost node looks), and ``scancel``
stops a job's group. No real Slurm here: this is what submitit talks to on a login node.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

SBATCH = """#!/bin/sh
for a; do script="$a"; done
dir="{jobs}"
n=$(flock "$dir/lock" sh -c 'n=$(( $(cat "$0/next" 2>/dev/null || echo 4240) + 1 )); echo $n > "$0/next"; echo $n' "$dir")
cp "$script" "$dir/$n.sbatch"
SLURM_JOB_ID=$n SLURM_NTASKS=1 SLURM_JOB_NUM_NODES=1 SLURM_NODEID=0 SLURM_PROCID=0 \\
SLURM_LOCALID=0 SLURM_JOB_NODELIST=localhost \\
  setsid sh -c 'echo $$ > "$0/$1.pid.new"; mv "$0/$1.pid.new" "$0/$1.pid"; bash "$0/$1.sbatch"; echo $? > "$0/$1.rc"' "$dir" "$n" \\
  </dev/null >/dev/null 2>&1 &
echo "Submitted batch job $n"
"""

SRUN = """#!/bin/sh
out=/dev/null; err=
while [ $# -gt 0 ]; do
  case "$1" in
    --unbuffered) shift ;;
    --output) out="$2"; shift 2 ;;
    --error) err="$2"; shift 2 ;;
    *) break ;;
  esac
done
out=$(echo "$out" | sed "s/%j/$SLURM_JOB_ID/g; s/%t/0/g")
err=$(echo "${err:-$out}" | sed "s/%j/$SLURM_JOB_ID/g; s/%t/0/g")
mkdir -p "$(dirname "$out")" "$(dirname "$err")"
exec "$@" >>"$out" 2>>"$err"
"""

SACCT = """#!/bin/sh
dir="{jobs}"
echo "JobID|State|NodeList"
while [ $# -gt 0 ]; do
  if [ "$1" = "-j" ]; then
    n="$2"; shift
    if [ -f "$dir/$n.rc" ]; then
      [ "$(cat "$dir/$n.rc")" = 0 ] && state=COMPLETED || state=FAILED
    elif [ ! -f "$dir/$n.pid" ]; then state=PENDING
    elif kill -0 "$(cat "$dir/$n.pid")" 2>/dev/null; then state=RUNNING
    else state=NODE_FAIL
    fi
    echo "$n|$state|localhost"
  fi
  shift
done
"""

SCANCEL = """#!/bin/sh
dir="{jobs}"
for n; do
  [ -f "$dir/$n.pid" ] && kill -TERM -- "-$(cat "$dir/$n.pid")" 2>/dev/null
done
exit 0
"""


class StandInSlurm:
    """The stand-in's folder of job records, and ways to look at and kill its jobs."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.jobs = root / "jobs"
        self.bin.mkdir(parents=True)
        self.jobs.mkdir()
        for name, text in (
            ("sbatch", SBATCH),
            ("srun", SRUN),
            ("sacct", SACCT),
            ("scancel", SCANCEL),
        ):
            tool = self.bin / name
            tool.write_text(text.replace("{jobs}", str(self.jobs)))
            tool.chmod(0o755)

    def path(self) -> str:
        """PATH with the stand-in tools first."""
        return f"{self.bin}{os.pathsep}{os.environ['PATH']}"

    def submitted(self) -> list[str]:
        """Job ids in the order they were submitted."""
        return sorted((p.stem for p in self.jobs.glob("*.sbatch")), key=int)

    def running_pid(self, job_id: str) -> int | None:
        """The job's process group id while it has one alive."""
        pid_file = self.jobs / f"{job_id}.pid"
        if not pid_file.is_file() or (self.jobs / f"{job_id}.rc").exists():
            return None
        text = pid_file.read_text().strip()
        return int(text) if text else None

    def kill(self, job_id: str) -> None:
        """SIGKILL the job's whole group: it dies without a result or an exit status."""
        pid = self.running_pid(job_id)
        assert pid is not None, f"job {job_id} is not running"
        os.killpg(pid, signal.SIGKILL)

    def exit_status(self, job_id: str) -> str | None:
        """The exit status the job's script left (None: none, e.g. killed)."""
        rc = self.jobs / f"{job_id}.rc"
        return rc.read_text().strip() if rc.is_file() else None
