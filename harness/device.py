"""Choosing and describing the compute device; every run records what it ran on."""

from __future__ import annotations

import os
import platform

import torch

from harness.errors import HarnessError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HarnessError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError(
            f"device {name!r} asked for, but no CUDA GPU is visible; use --device cpu"
        )
    return device


THREADS_ENV = "HARNESS_THREADS"


def cpu_threads() -> int:
    """Threads for CPU work: ``$HARNESS_THREADS`` when set (parallel tuning workers share the
    cores that way), else every core this process may run on."""
    env = os.environ.get(THREADS_ENV)
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def configure(device: torch.device) -> None:
    """Per-device speed settings: cuDNN autotuning and TF32 on GPUs, all cores on CPUs."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        torch.set_num_threads(cpu_threads())


def describe(device: torch.device) -> str:
    """A human-readable name of the device, recorded in runs and leaderboard rows."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    processor = platform.processor() or platform.machine()
    return f"cpu:{processor} x{torch.get_num_threads()} threads"
