"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint holds G, D, the EMA of G, both optimisers, every random state the loop uses and
the position of the next batch, so that ``--resume`` replays the same batches and noise as a
run that was never stopped. Only tensors, numbers and strings go in, so ``torch.load`` can
read it with ``weights_only=True``: loading a checkpoint never runs pickled code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import torch

from harness import atomic
from harness.errors import RunNotFoundError
from harness.training.runs import CHECKPOINTS

KEEP = 2
FORMAT = 1


def checkpoint_name(epoch: int, batch: int, step: int) -> str:
    """``epoch-0003.pt`` at an epoch boundary, ``step-000456.pt`` anywhere else."""
    return f"epoch-{epoch:04d}.pt" if batch == 0 else f"step-{step:07d}.pt"


def save(run_dir: Path, state: dict[str, Any], *, keep: int = KEEP) -> Path:
    """Write ``state`` as the run's newest checkpoint and drop all but the newest ``keep``."""
    folder = Path(run_dir) / CHECKPOINTS
    name = checkpoint_name(state["epoch"], state["batch"], state["step"])
    path = folder / name
    state = dict(state, format=FORMAT)
    atomic.write_with(path, lambda handle: torch.save(state, handle))
    history_path = folder / "latest.json"
    history = (
        json.loads(history_path.read_text()).get("history", []) if history_path.is_file() else []
    )
    history = [h for h in history if h != name] + [name]
    for old in history[:-keep]:
        (folder / old).unlink(missing_ok=True)
    atomic.write_text(history_path, json.dumps({"file": name, "history": history[-keep:]}))
    return path


def load(
    path: Path | IO[bytes], device: torch.device | str = "cpu", *, name: Path | None = None
) -> dict[str, Any]:
    """Read a checkpoint (a path, or a file the caller opened safely), mapping tensors to
    ``device``; ``name`` is the path to show in messages when ``path`` is a file object.

    Raises:
        RunNotFoundError: the file is missing or not a harness checkpoint.
    """
    shown = name if name is not None else path
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise RunNotFoundError(f"checkpoint {path} does not exist") from None
    except Exception as exc:
        raise RunNotFoundError(
            f"checkpoint {shown} is unreadable ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunNotFoundError(f"{shown} is not a harness checkpoint (format {FORMAT})")
    return state


def generator_weights(state: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The generator weights to sample from: the EMA copy when the run kept one.

    Returns the state dict and whether it is the EMA's.
    """
    ema = state.get("ema")
    if ema:
        prefix = "module."
        return {k[len(prefix) :]: v for k, v in ema.items() if k.startswith(prefix)}, True
    return state["generator"], False
