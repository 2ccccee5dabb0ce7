"""Ctrl-C during ``harness tune``: stop cleanly, and the interrupted trial does not count.

Optuna records a trial whose objective raised ``KeyboardInterrupt`` as FAIL (states cannot be
changed afterwards) and logs it with the whole traceback; a FAIL trial then counted toward
``--trials``, so a search stopped twice came back two trials short. Here the objective marks
its trial ``interrupted`` before Optuna finishes it, the budget counts finished trials without
that mark, Optuna's traceback for it is not shown, and the trial's parameters are queued to
run first when the same command continues the study.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

INTERRUPTED = "interrupted"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
GRACE_SECONDS = 90.0  # a training child gets 60 s to write its checkpoint (sandbox runner)


def counted(study: optuna.Study) -> list[FrozenTrial]:
    """The finished trials that count toward ``--trials`` (interrupted ones do not)."""
    trials = study.get_trials(deepcopy=False, states=FINISHED)
    return [t for t in trials if not t.user_attrs.get(INTERRUPTED)]


class StopAtTrials:
    """Optuna callback: stop the study once ``trials`` counted trials have finished (the
    interrupt-aware form of :class:`optuna.study.MaxTrialsCallback`)."""

    def __init__(self, trials: int) -> None:
        self.trials = trials

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if len(counted(study)) >= self.trials:
            study.stop()


class _HideInterruptedTrials(logging.Filter):
    """Drop Optuna's "Trial N failed ..." records (one with the whole traceback) for trials
    the user interrupted: the harness says it in one line instead."""

    def __init__(self, interrupted: list[int]) -> None:
        super().__init__()
        self.interrupted = interrupted

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, KeyboardInterrupt):
            return False
        message = record.getMessage()
        return not any(message.startswith(f"Trial {n} failed") for n in self.interrupted)


@contextlib.contextmanager
def quiet_interrupted_trials(interrupted: list[int]) -> Iterator[None]:
    """While optimising, hide Optuna's failure records of the trials in ``interrupted``."""
    logger = logging.getLogger("optuna.study._optimize")
    hide = _HideInterruptedTrials(interrupted)
    logger.addFilter(hide)
    try:
        yield
    finally:
        logger.removeFilter(hide)


class MarkInterrupts:
    """Wraps an objective: a trial that ``KeyboardInterrupt`` leaves is marked interrupted
    (before Optuna records it FAIL), and its number remembered for :func:`requeue`."""

    def __init__(self, objective: Callable[[optuna.Trial], float]) -> None:
        self.objective = objective
        self.interrupted: list[int] = []

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            return self.objective(trial)
        except KeyboardInterrupt:
            trial.set_user_attr(INTERRUPTED, True)
            self.interrupted.append(trial.number)
            raise


def requeue(study: optuna.Study, numbers: list[int]) -> None:
    """Queue the parameters of the interrupted trials ``numbers`` to run first next time."""
    for trial in study.get_trials(deepcopy=False):
        if trial.number in numbers and trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def say_stopped(study: optuna.Study, trials: int, stopped: list[int] | None) -> None:
    """One line for the person who pressed Ctrl-C: what stopped, what counts, how to go on.

    Args:
        stopped: the interrupted trials' numbers; None when other processes ran them.
    """
    if stopped is None:
        which = "running trials stopped and do not count (their parameters run first next time)"
    elif stopped:
        which = (
            f"trial {', '.join(map(str, stopped))} stopped and does not count (its parameters "
            "run first next time)"
        )
    else:
        which = "no trial was running"
    print(
        f"tune: interrupted; {which}; study {study.study_name} has {len(counted(study))} of "
        f"{trials} finished trials; run the same command to continue it",
        file=sys.stderr,
    )


def wait_then_stop(procs: list[Any], grace_s: float = GRACE_SECONDS) -> None:
    """After Ctrl-C: give worker processes (which got the same SIGINT from the terminal) time
    to stop their trials cleanly, then terminate those still running."""
    deadline = time.monotonic() + grace_s
    try:
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: stop waiting
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
