"""A hostile team's faults: imported by its model.py, it misbehaves in one job only.

``fault.json`` beside this file names the fault, the job it strikes in (``validate``, ``train``
or ``sample``; the others run the team as an honest tiny GAN), a marker that the processes it
spawns carry on their command line (so the test can look for survivors from outside), and the
paths a forgery or a planted link needs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
F = json.loads((HERE / "fault.json").read_text())
JOB = sys.argv[1] if len(sys.argv) > 1 else "unknown"


def _request() -> dict:
    return json.loads(Path(sys.argv[2]).read_text())


def _spawn_sleepers(count: int) -> None:
    """Processes that leave the job's session and outlive their parent if they can."""
    for _ in range(count):
        if os.fork() == 0:
            try:
                os.setsid()
                os.execvp("sleep", ["sleep", F["marker"]])
            finally:
                os._exit(0)


def _forge(payload: dict) -> None:
    Path(_request()["result_path"]).write_text(json.dumps({"status": "ok", "payload": payload}))
    os._exit(0)


def fork() -> None:
    _spawn_sleepers(200)
    time.sleep(60)


def spawn_and_exit() -> None:
    _spawn_sleepers(5)
    time.sleep(0.5)
    os._exit(0)


def memory() -> None:
    import numpy as np

    hog = np.ones(8 * 2**30, dtype=np.uint8)
    time.sleep(30 + hog[0])


def print_flood() -> None:
    line = "x" * (2**20 - 1) + "\n"
    for _ in range(100):
        sys.stdout.write(line)
    sys.stdout.flush()


def orphan_in_group() -> None:
    """A grandchild that stays in the job's process group (no setsid), orphaned when the
    worker ends without its own clean-up: only killing the group as a whole stops it."""
    if os.fork() == 0:
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", F["marker"]])
        os._exit(0)
    time.sleep(0.5)
    os._exit(0)


def exit_early() -> None:
    os._exit(0)


def forge() -> None:
    _forge({"forged": True})


def forge_samples() -> None:
    _forge({"path": _request().get("out", ""), "image_size": 16, "used_ema": True, "seconds": 1.0})


def link_out() -> None:
    """Links in its own run folder to a test image and to another team's run, then a forged
    success, so that the parent would follow them when it samples and scores."""
    run_dir = Path(_request()["run_dir"])
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "checkpoints" / "latest.json").write_text(json.dumps({"file": F["test_file"]}))
    (run_dir / "samples").symlink_to(F["victim_run"])
    _forge(
        {
            "run_dir": str(run_dir),
            "run_id": run_dir.name,
            "epochs_done": 1,
            "steps_done": 1,
            "images_per_s": 1.0,
            "checkpoint": F["test_file"],
            "grid": "",
            "device": "cpu",
        }
    )


def link_config() -> None:
    """The observed attack: at exit, after the harness has written its last config.json, the
    train job replaces it with a link to the split file beside the test data, hoping that the
    parent reads it through the link and rewrites it as a plain copy in the run folder."""
    import atexit

    def relink() -> None:
        config = Path(_request()["run_dir"]) / "config.json"
        config.unlink(missing_ok=True)
        config.symlink_to(F["split_file"])

    atexit.register(relink)


if F["phase"] == JOB:
    globals()[F["fault"]]()
