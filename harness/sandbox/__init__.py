"""The seam to team code: every job that runs a team's ``model.py`` runs in a child.

Takes in a job name and a JSON request from training, scoring or tuning. :mod:`.runner`
starts ``python -m harness.worker JOB REQUEST`` in its own session with time and memory limits,
supervises it, kills its whole process group, and turns whatever the child reports into a
payload or one error line. :func:`forbidden_paths` names what team code must never read.
The parent never imports team code.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "Limits": "runner",
    "child_env": "runner",
    "forbidden_paths": "runner",
    "run_child": "runner",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
