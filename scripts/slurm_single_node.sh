#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (Debian's slurm-wlm and munge), then
# `harness train --all --executor slurm` and `harness score --all --executor slurm` on it,
# with a demo dataset and tiny settings. Run as root from the repository root, by hand:
#
#     scripts/slurm_single_node.sh [WORKDIR]      # default WORKDIR: $TMPDIR/harness-slurm (TMPDIR defaults to the system temp folder)
#
# It installs packages (apt-get), writes /etc/slurm/slurm.conf and starts munged, slurmctld
# and slurmd: use it on a throwaway machine or container, not on a real cluster. What it
# printed on the machine the harness is built on is in docs/guide/scaling.md ("What was measured where").
set -euo pipefail

WORK=${1:-${TMPDIR:-/tmp}/harness-slurm}
PYTHON=${PYTHON:-python}
HERE=$(pwd)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
fi

# Munge: the key came with the package; the daemon needs its run folder.
mkdir -p /run/munge /var/log/munge
chown munge:munge /run/munge /var/log/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null && echo "munge: ok"

# One node, one partition; no cgroups (containers rarely let slurmd use them) and no
# accounting database (sacct then reports nothing: submitit sees finished jobs by their
# result files, but a job killed without one is not noticed; real clusters run slurmdbd).
NODE=$(hostname -s)
NODE_LINE=$(slurmd -C | head -1)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=harness
SlurmctldHost=${NODE}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
${NODE_LINE}
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld -c
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 30); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && break
    sleep 1
done
sinfo

# The competition: a demo dataset and two copies of the example team2 (a DCGAN), trained
# for two steps each as two jobs of one Slurm array, then scored as two more jobs.
mkdir -p "$WORK"
export HARNESS_CACHE="$WORK/cache" HARNESS_OFFLINE=1 TORCH_HOME="$WORK/torch"
[ -d "$WORK/data" ] || "$PYTHON" -m harness data demo "$WORK/data" --train-per-class 64 --test-per-class 32
mkdir -p "$WORK/submissions"
for team in team2 team2b; do
    [ -d "$WORK/submissions/$team" ] || cp -r "$HERE/submissions/team2" "$WORK/submissions/$team"
done
SLURM=(--executor slurm --slurm-partition debug --cpus-per-job 1 --time-limit 15
       --slurm-folder "$WORK/jobs" --jobs 2 --device cpu)
time "$PYTHON" -m harness train --all --submissions "$WORK/submissions" --data "$WORK/data" \
    --runs "$WORK/runs" --max-steps 2 --batch-size 16 "${SLURM[@]}"
time "$PYTHON" -m harness score --all --submissions "$WORK/submissions" --data "$WORK/data" \
    --runs "$WORK/runs" --n 50 --bootstrap 10 --leaderboard "$WORK/leaderboard/results.csv" \
    "${SLURM[@]}"
"$PYTHON" -m harness leaderboard --leaderboard "$WORK/leaderboard/results.csv"
squeue
tail -n 3 /var/log/slurm/slurmctld.log
