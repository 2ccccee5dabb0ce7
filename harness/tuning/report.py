"""What a search found: ``best.json``, the best trials, and plots of the study."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from harness import atomic
from harness.errors import HarnessError
from harness.training import runs
from harness.tuning.storage import open_storage, study_dir

DEFAULT_TUNE_ROOT = Path("tune")


def write_best(study: optuna.Study, folder: Path, storage_desc: str) -> Path | None:
    """Write ``best.json`` (the best complete trial's parameters and how they were found)."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    path = folder / "best.json"
    payload = {
        "study": study.study_name,
        "storage": storage_desc,
        "trial": best.number,
        "value": best.value,
        "params": best.params,
        "run_id": best.user_attrs.get("run_id"),
        "budget": study.user_attrs.get("budget"),
        "metric": "FID(with_mask) + FID(without_mask) against the val part of train",
    }
    atomic.write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def report(
    team_dir: Path,
    *,
    tune_root: Path = DEFAULT_TUNE_ROOT,
    study: str | None = None,
    storage: str | None = None,
    plots: bool = False,
) -> dict[str, Any]:
    """The study's state: counts per state, the best trials, and (with ``plots``) PNG plots."""
    team = runs.team_name(team_dir)
    name = study or team
    folder = study_dir(tune_root, team, name)
    opened, desc = open_storage(storage, 1, folder)
    try:
        loaded = optuna.load_study(study_name=name, storage=opened)
    except KeyError:
        raise HarnessError(
            f"no study {name!r} in {desc}; run `harness tune {team_dir}` first"
        ) from None
    trials = loaded.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    best_rows = [
        {"trial": t.number, "value": t.value, "run_id": t.user_attrs.get("run_id"), **t.params}
        for t in complete[:10]
    ]
    result: dict[str, Any] = {
        "study": name,
        "storage": desc,
        "counts": counts,
        "best": best_rows,
        "folder": str(folder),
    }
    best_path = write_best(loaded, folder, desc)
    result["best_json"] = str(best_path) if best_path else None
    if plots and complete:
        result["plots"] = _plots(loaded, folder)
    return result


def _plots(study: optuna.Study, folder: Path) -> list[str]:
    """Optimisation history and (with two or more complete trials) parameter importances."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    made = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's matplotlib backend is marked experimental
        plotters = [("history.png", vis.plot_optimization_history)]
        if sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)) >= 2:
            plotters.append(("importances.png", vis.plot_param_importances))
        for filename, plot in plotters:
            try:
                axes = plot(study)
            except (ValueError, RuntimeError) as exc:  # e.g. importances of a one-value space
                print(f"skipped {filename}: {exc}", file=sys.stderr)
                continue
            figure = axes.figure if hasattr(axes, "figure") else axes[0].figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            path = folder / filename
            atomic.write_with(
                path, lambda handle, fig=figure: fig.savefig(handle, format="png", dpi=100)
            )
            plt.close(figure)
            made.append(str(path))
    return made
