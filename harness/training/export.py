"""``harness export``: a trained run as a small ``checkpoint.pt`` a team can hand in.

Teams in a course train on their own GPUs (Colab, a lab machine); the organiser should sample
what they made, not train it again. The exported file holds what sampling needs and what a
row records, nothing more: the generator's weights and its EMA copy, the spec's name, image
size, latent size and hparams, and the harness version, data fingerprint, run id, epochs and
steps the team trained with. No optimiser and no discriminator, so it is a fraction of a
training checkpoint.

Only tensors, numbers, strings and dicts go in, so it loads with ``torch.load(...,
weights_only=True)``. The organiser's harness loads a handed-in file only inside the sampling
child and only that way (:func:`load_exported`): a team's pickle is never unpickled, so a file
crafted to run code on load is refused instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from harness import atomic
from harness.errors import HarnessError
from harness.training import checkpoint, runs

FILE_NAME = "checkpoint.pt"
FORMAT = "harness-submission-1"


class ExportedCheckpointError(HarnessError):
    """A handed-in ``checkpoint.pt`` is unreadable, unsafe or not a harness export."""


def exported_state(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The exported record of a training checkpoint ``state`` of the run with ``config``."""
    import harness

    train_config = config.get("train_config") or state.get("train_config") or {}
    meta = {
        "spec_name": str(config.get("spec_name", "")),
        "run_id": str(config.get("run_id", "")),
        "epochs_done": int(state["epoch"]) if "epoch" in state else config.get("epochs_done"),
        "steps_done": int(state["step"]) if "step" in state else config.get("steps_done"),
        "train_seed": train_config.get("seed"),
        "data_fingerprint_train": str(config.get("data_fingerprint_train", "")),
        "harness_version": harness.__version__,
        "torch_version": str(torch.__version__),  # a str subclass weights_only refuses
        "train_device": str(config.get("device", "")),
        "submission_commit": str(config.get("submission_commit", "")),
        "exported_at": runs.utc_now(),
    }
    return {
        "format": FORMAT,
        "generator": state["generator"],
        "ema": state.get("ema"),
        "image_size": int(state["image_size"]),
        "latent_dim": int(state["latent_dim"]),
        "hparams": state["hparams"]
        if isinstance(state.get("hparams"), str)
        else json.dumps(config.get("hparams", {})),
        "meta": meta,
    }


def export_run(
    team_dir: Path, *, runs_root: Path, run_id: str | None = None, out: Path | None = None
) -> dict[str, Any]:
    """Write the latest checkpoint of a team's run (default: its latest trained run) as
    ``<team_dir>/checkpoint.pt`` (or ``out``); returns what was written.

    Raises:
        RunNotFoundError: the team has no such run, or the run no checkpoint.
    """
    team = runs.team_name(team_dir)
    run_dir = runs.find_run(runs_root, team, run_id)
    source = runs.latest_checkpoint(run_dir)
    assert source is not None
    from harness.sandbox.safe_files import opened

    with opened(source, root=run_dir, max_bytes=None) as handle:  # latest_checkpoint checked it
        state = checkpoint.load(handle, "cpu", name=source)
    record = exported_state(state, runs.read_config(run_dir))
    target = Path(out) if out is not None else Path(team_dir) / FILE_NAME
    atomic.write_with(target, lambda handle: torch.save(record, handle))
    return {
        "path": str(target),
        "bytes": target.stat().st_size,
        "checkpoint_bytes": source.stat().st_size,
        "run_id": run_dir.name,
        "checkpoint": source.name,
        "ema": record["ema"] is not None,
        **{k: record["meta"][k] for k in ("spec_name", "epochs_done", "steps_done")},
    }


def _reason(exc: Exception) -> str:
    """The informative line of torch's long weights_only message (the global it refused),
    without its colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).replace("WeightsUnpickler error:", "")
    lines = [part.strip() for part in text.splitlines() if part.strip()]
    named = [line for line in lines if "GLOBAL" in line or "global" in line.lower()]
    line = (named or lines or [type(exc).__name__])[0]
    return line.split(". ")[0].rstrip(".")[:200]


def load_exported(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a handed-in ``checkpoint.pt`` without ever unpickling code.

    Raises:
        ExportedCheckpointError: the file is missing, is a pickle that ``weights_only``
            refuses (it would run code), or is not an export of this harness.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ExportedCheckpointError(f"{path} does not exist") from None
    except Exception as exc:
        raise ExportedCheckpointError(
            f"{path.name} was refused: it is not a plain-weights file that loads with "
            f"torch.load(weights_only=True) ({_reason(exc)}); make it with `harness export`"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ExportedCheckpointError(
            f"{path.name} is not a checkpoint made by `harness export` (format {FORMAT}); "
            "export the run with `harness export submissions/<team>`"
        )
    missing = [k for k in ("generator", "image_size", "latent_dim", "hparams") if k not in state]
    if missing:
        raise ExportedCheckpointError(f"{path.name} lacks {', '.join(missing)}; export it again")
    return state
