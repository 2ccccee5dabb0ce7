"""Training that gives the same weights for the same cache key, and a key that says what else
could change them.

The mask classifier is trained once per dataset and size and cached under a key; every team is
judged by it. The same key once gave 0.98920 test accuracy on one machine and 0.98806 on
another. Floating-point sums depend on how work is split: the thread count splits convolution
reductions differently (measured here: 1 vs 2 threads changed the weights by 2e-7 after two
epochs, enough to move a prediction), oneDNN picks different kernels for AVX2 and AVX-512
CPUs, and cuDNN picks algorithms by benchmark. So the training runs with:

- a fixed thread count (:data:`TRAIN_THREADS`), whatever the machine or ``$HARNESS_THREADS``;
- ``torch.use_deterministic_algorithms`` (and cuDNN's deterministic mode, no benchmark);
- its own seeded random stream, forked from the global one, which it leaves as it was;
- no DataLoader workers (batches are drawn in the loop from a seeded NumPy generator).

What this cannot fix goes into the key (:func:`numerics_key`): the torch version, the device
kind, and the CPU's instruction set (or the GPU model and cuDNN version). Two machines that
agree on those give the same classifier; two that do not get different keys, and each row
records the key it was judged with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

TRAIN_THREADS = 2


def numerics_key(device: torch.device, threads: int = TRAIN_THREADS) -> dict[str, Any]:
    """What decides the low bits of a training run beyond its recipe and data."""
    key: dict[str, Any] = {"torch": torch.__version__, "device_type": device.type}
    if device.type == "cuda":
        key["gpu"] = torch.cuda.get_device_name(device)
        key["cudnn"] = torch.backends.cudnn.version()
    else:
        key["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        key["threads"] = threads
    return key


@contextlib.contextmanager
def deterministic_training(
    device: torch.device, seed: int, threads: int = TRAIN_THREADS
) -> Iterator[None]:
    """Run the body with fixed threads, deterministic algorithms and a private seeded stream;
    every global setting touched is put back on exit."""
    saved_threads = torch.get_num_threads()
    saved_deterministic = torch.are_deterministic_algorithms_enabled()
    saved_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    saved_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    if device.type == "cuda":
        # cuBLAS needs a fixed workspace to be deterministic; read when its handle is made.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    cuda_devices = [device] if device.type == "cuda" else []
    try:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.use_deterministic_algorithms(saved_deterministic, warn_only=saved_warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved_cudnn
