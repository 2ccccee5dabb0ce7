"""The harness's exception hierarchy.

The CLI catches :class:`HarnessError` and prints its message as one line (exit 1); anything
else is a bug in the harness and keeps its traceback. Every message names the thing that is
wrong and what to do about it, because the person reading it is a student at a terminal, not
the author of this code.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """A problem the user can fix; the message says how."""


class DataError(HarnessError):
    """The image folder is missing, malformed or unreadable."""


class SpecError(HarnessError):
    """A team's ``model.py`` does not load or does not conform to ``GeneratorSpec``."""


class TeamCodeError(HarnessError):
    """Team code failed, hung or misbehaved while running in its child process."""


class SampleError(HarnessError):
    """Samples handed back by a team's child process break the samples contract."""


class RunNotFoundError(HarnessError):
    """No trained run or checkpoint where one was asked for."""


class NotTrainedError(RunNotFoundError):
    """The team has no trained run at all: not a failure of its code, just nothing to score."""


class WeightsError(HarnessError):
    """The Inception weights cannot be obtained or fail verification."""


class NumericalError(HarnessError):
    """A metric could not be computed reliably (for example a complex matrix square root)."""


class DiskFullError(HarnessError):
    """A write failed because the disk (or the user's quota) is full; nothing saved was lost."""

    def __init__(self, message: str, target: Path | None = None) -> None:
        super().__init__(message)
        self.target = target


class BoardError(HarnessError):
    """The leaderboard file breaks its schema; the message names the line and column."""


class Interrupted(KeyboardInterrupt):
    """The harness itself asked a child process to stop (its SIGINT or SIGTERM arrived).

    Team code may raise a plain ``KeyboardInterrupt`` (or ``SystemExit``) on purpose or by
    accident; that is the team's fault and becomes its failed row. Only this subclass, raised
    by the harness's own signal handling, counts as a stop the harness asked for.
    """
