"""What a search shows at the terminal, and where Optuna's own log goes instead.

Optuna logs every failed trial as a warning with the full traceback, and every finished trial
as a long line of parameters: at a terminal a failed trial then reads as a crash of the
harness. While a search runs, Optuna's log (tracebacks included) goes to ``tune.log`` in the
study folder, and the terminal gets the harness's own lines: one when a trial starts (its
number and parameters), one per validation score, and one when it ends (its value, or the
one-line reason it failed or was pruned).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

LOG_NAME = "tune.log"


def format_params(params: Mapping[str, Any]) -> str:
    """``lr_g=2.59e-04, beta1=0.0, g_width=64``: floats to three significant digits."""
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) and not v.is_integer() else f"{k}={v}"
        for k, v in params.items()
    )


@contextlib.contextmanager
def optuna_log_to_file(folder: Path) -> Iterator[Path]:
    """Send Optuna's log records to ``<folder>/tune.log`` instead of the terminal.

    The handlers of the ``optuna`` logger are swapped for a file handler and put back on
    exit, so a caller that keeps Optuna's default terminal logging gets it back.
    """
    path = Path(folder) / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("optuna")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    saved_handlers, saved_level = logger.handlers[:], logger.level
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    try:
        yield path
    finally:
        logger.handlers = saved_handlers
        logger.setLevel(saved_level)
        handler.close()
