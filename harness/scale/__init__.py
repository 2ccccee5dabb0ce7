"""Scale: many teams at once, on one machine's GPUs or as Slurm jobs through submitit.

Takes in the commands that run every team (``train --all``, ``score --all``) or several
tuning workers, with ``--jobs``, ``--devices`` and ``--executor``. :mod:`.plan` checks and
holds those settings; :mod:`.tasks` defines the picklable jobs, each calling the same
training, scoring or tuning code a sequential run calls (so team code still runs only in the
sandboxed child); :mod:`.executors` runs them in this process, K at a time in local
processes, or (:mod:`.slurm`) as a submitit job array; :mod:`.teams` ties a command to its
jobs and hands scoring rows to the board through its spool. Hands on one outcome per team.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "EXECUTORS": "plan",
    "ScaleSettings": "plan",
    "SlurmOptions": "plan",
    "make_settings": "plan",
    "parse_time_limit": "plan",
    "run_jobs": "executors",
    "score_all": "teams",
    "train_all": "teams",
    "tune_on_cluster": "teams",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
