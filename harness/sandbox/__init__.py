"""The seam to team code: every job that runs a team's ``model.py`` runs in an isolated child.

Takes in a job name, a JSON request and a :class:`JobAccess` (what the job may read and write)
from training, scoring or tuning. :mod:`.runner` starts ``python -m harness.entry.worker JOB REQUEST``
under the isolation :mod:`.isolation` chooses: a bubblewrap sandbox built by :mod:`.bwrap`
(``strict``) or a plain child (``soft``), with the environment of :mod:`.environment` and the
limits of :mod:`.limits`; :mod:`.supervisor` holds it to them and ends all its processes,
:mod:`.output` relays what it prints, and :mod:`.payloads` checks what it reports. Hands on a
checked payload or one error line. :func:`forbidden_paths` names what team code must never
see. The parent never imports team code.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "BwrapProbe": "isolation",
    "DEFAULTS": "limits",
    "Isolation": "isolation",
    "IsolationError": "isolation",
    "JobAccess": "bwrap",
    "Limits": "limits",
    "bwrap_argv": "bwrap",
    "check_payload": "payloads",
    "forbidden_paths": "runner",
    "job_limits": "limits",
    "probe_bwrap": "isolation",
    "resolve_isolation": "isolation",
    "run_child": "runner",
    "strict_env": "environment",
    "sweep_stale": "jobdir",
    "use_isolation": "isolation",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
