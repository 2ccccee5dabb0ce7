"""Loss curves of a run, drawn from its ``metrics.jsonl`` with matplotlib."""

from __future__ import annotations

from pathlib import Path

from harness import atomic
from harness.training import metrics_log


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The step records of a metrics.jsonl file (lines with ``"kind": "step"``; a torn last
    line is skipped)."""
    return [r for r in metrics_log.read_records(path) if r.get("kind") == "step"]


def plot_losses(metrics_path: Path, out_path: Path, title: str = "") -> None:
    """Draw loss_d and loss_g against the step, with a moving average, into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    records = read_metrics(metrics_path)
    if not records:
        return
    steps = np.array([r["step"] for r in records])
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for key, colour in (("loss_d", "tab:blue"), ("loss_g", "tab:orange")):
        values = np.array([r.get(key, np.nan) for r in records], dtype=float)
        ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
        window = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color=colour, label=key)
    ax.set_xlabel("discriminator step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic.write_with(Path(out_path), lambda handle: fig.savefig(handle, format="png"))
    plt.close(fig)
