"""Training: a team's GAN trained on the ``train`` split, resumably, in a child process.

Takes in a team folder and the uint8 train arrays from :mod:`harness.data`. The parent side
(:mod:`.train`) validates the spec and starts the child; the child side (:mod:`.trainer`)
runs the loop with augmentation, losses, EMA, checkpoints, sample grids and loss curves. Hands
on a run folder (``runs/<team>/<run_id>/``: config, metrics, checkpoints) that scoring and
tuning read through :mod:`.runs`, and (:mod:`.export`) a small ``checkpoint.pt`` a team hands in.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "train_team": "train",
    "validate_team": "train",
    "run_job": "trainer",
    "validate_spec": "validate",
    "check_generator_output": "validate",
    "find_run": "runs",
    "list_runs": "runs",
    "read_config": "runs",
    "team_name": "runs",
    "latest_checkpoint": "runs",
    "resolve_loss": "losses",
    "default_augmentation": "augment",
    "diff_augment": "diffaugment",
    "export_run": "export",
    "load_exported": "export",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
