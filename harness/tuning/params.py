"""``harness train --params``: parameters found by a search, or written by hand in a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.training import runs


def find_best_file(team_dir: Path, tune_root: Path, study: str | None) -> Path:
    """The ``best.json`` of the named study, or of the team's most recently updated study."""
    team = runs.team_name(team_dir)
    base = Path(tune_root) / team
    if study:
        path = base / study / "best.json"
        if not path.is_file():
            raise HarnessError(
                f"study {study!r} of {team} has no best parameters yet ({path}); run `harness tune`"
            )
        return path
    candidates = sorted(base.glob("*/best.json"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise HarnessError(
            f"no tuned parameters for {team} under {base}; run `harness tune {team_dir}` first, "
            "or pass --params FILE.json"
        )
    return candidates[-1]


def load_params(
    team_dir: Path, value: str, *, tune_root: Path, study: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Raw parameters and their source, from ``best`` (a study's best trial) or a JSON file.

    A file may hold ``{"params": {...}}`` (as ``best.json`` does) or the parameters themselves.
    """
    path = find_best_file(team_dir, tune_root, study) if value == "best" else Path(value)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"cannot read parameters from {path}: {exc}") from None
    params = payload.get("params", payload) if isinstance(payload, dict) else None
    if not isinstance(params, dict):
        raise HarnessError(f"{path} must hold a JSON object of parameters")
    source = {"file": str(path)}
    for key in ("study", "trial", "value"):
        if key in payload:
            source[key] = payload[key]
    return params, source
