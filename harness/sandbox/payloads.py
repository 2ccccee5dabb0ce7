"""What each job must report, checked in the parent before anything reads it.

Team code runs in the same process as the worker, so it can write any result file it likes,
``status: ok`` included. The parent therefore trusts a payload for its shape only: every
field a caller reads is present with the right type and a sane value, and a payload that is
not is one error line that says it may be forged. What a payload claims is then checked
where it matters (samples are re-read and re-checked; a checkpoint is only ever loaded by a
later sandboxed job), so a well-formed forgery gains a team nothing.
"""

from __future__ import annotations

from typing import Any

from harness.errors import TeamCodeError

Number = (int, float)
EXPECTED: dict[str, dict[str, tuple[type, ...]]] = {
    "validate": {
        "name": (str,),
        "latent_dim": (int,),
        "image_size": (int,),
        "loss": (str,),
        "generator_params": (int,),
        "discriminator_params": (int,),
        "search_space": (list,),
        "search_distributions": (dict,),
    },
    "train": {
        "run_dir": (str,),
        "run_id": (str,),
        "epochs_done": (int,),
        "steps_done": (int,),
        "images_per_s": Number,
        "checkpoint": (str,),
        "grid": (str,),
        "device": (str,),
    },
    "sample": {"path": (str,), "image_size": (int,), "used_ema": (bool,), "seconds": Number},
}
IMAGE_SIZE_RANGE = (16, 512)


def _problem(job: str, payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"a {type(payload).__name__} instead of a dict"
    for key, types in EXPECTED.get(job, {}).items():
        value = payload.get(key)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{key} is {value!r}"
    size = payload.get("image_size")
    if size is not None and not IMAGE_SIZE_RANGE[0] <= size <= IMAGE_SIZE_RANGE[1]:
        return f"image_size is {size}"
    return None


def check_payload(job: str, payload: Any, label: str) -> dict[str, Any]:
    """Return ``payload`` if it has the shape ``job`` promises, else raise.

    Raises:
        TeamCodeError: a field is missing or of the wrong type or range.
    """
    problem = _problem(job, payload)
    if problem is not None:
        raise TeamCodeError(
            f"{label}: the {job} job reported a malformed result ({problem}); team code may "
            "have written it in place of the harness"
        )
    return dict(payload)
