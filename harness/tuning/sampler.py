"""The TPE sampler of one worker: reproducible for a fresh study, never a replay when resumed.

Optuna's samplers keep their random state in the process, not in the storage. A sampler built
with the same seed on every run therefore draws the same points again when a study is
continued: a search stopped after two trials and run again with ``--trials 3`` spent its third
trial retraining exactly the parameters of its first (same values, same score). The seed of
each worker is therefore a function of the study's seed, of how many trials the study already
holds when the worker opens it, and of the worker's index:

- a fresh study run by one worker gets the study's seed itself, so the same command on an
  empty study proposes the same parameters every time;
- a resumed study, or the second and later workers of a parallel search, get a different
  stream each, so that they continue the sequence instead of repeating its start.
"""

from __future__ import annotations

import numpy as np
import optuna


def sampler_seed(seed: int, existing_trials: int, worker: int = 0) -> int:
    """The TPE seed for a worker that opens a study holding ``existing_trials`` trials.

    Args:
        seed: the study's seed (``--seed``).
        existing_trials: trials in the study when the worker opened it, in any state.
        worker: the worker's index among those started together (0 for the first).

    Returns:
        ``seed`` itself for the first worker on a fresh study; otherwise a 32-bit seed drawn
        from :class:`numpy.random.SeedSequence` over the three numbers, distinct in practice
        for every (trials, worker) pair.
    """
    if existing_trials == 0 and worker == 0:
        return seed
    entropy = [seed & 0xFFFFFFFF, existing_trials, worker]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def make_sampler(study: optuna.Study, seed: int, worker: int = 0) -> optuna.samplers.TPESampler:
    """A TPE sampler for ``study`` seeded by :func:`sampler_seed` from its current trials."""
    existing = len(study.get_trials(deepcopy=False))
    return optuna.samplers.TPESampler(seed=sampler_seed(seed, existing, worker))
