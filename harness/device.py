"""Choosing and describing the compute device; every run records what it ran on.

Everything that exists only on CUDA (device counts, cuDNN autotuning, TF32, pinned memory,
non-blocking copies, bf16 support) is asked here and nowhere else, so that the CPU path,
the one CI runs, never touches a CUDA API and the GPU path is one small module to read.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from typing import Any

import torch

from harness.errors import HarnessError

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")


def device_count() -> int:
    """CUDA devices visible to this process (0 without CUDA; CUDA is not initialised)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is an error,
    and so is ``cuda:N`` past the number of visible GPUs."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HarnessError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise HarnessError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        count = device_count()
        if count == 0:
            raise HarnessError(
                f"device {name!r} asked for, but no CUDA GPU is visible; use --device cpu"
            )
        if device.index is not None and device.index >= count:
            raise HarnessError(
                f"device {name!r} asked for, but only {count} CUDA GPU(s) are visible "
                f"(cuda:0 to cuda:{count - 1})"
            )
    return device


def parse_devices(text: str | None) -> list[str]:
    """``--devices cuda:0,cuda:1`` (or ``cpu``, or ``cpu,cpu``) as a checked list of names.

    Raises:
        HarnessError: an empty list, or a device that does not exist on this machine.
    """
    if text is None or not text.strip():
        return ["auto"]
    names = [part.strip() for part in text.split(",")]
    if any(not name for name in names):
        raise HarnessError(f"--devices {text!r} has an empty entry; write e.g. cuda:0,cuda:1")
    for name in names:
        resolve_device(name)
    return names


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


def _tf32_backends() -> list[Any]:
    """The TF32 switches of matmuls and cuDNN convolutions (torch >= 2.9's per-backend API)."""
    return [torch.backends.cuda.matmul, torch.backends.cudnn.conv]


def _new_tf32_api() -> bool:
    return hasattr(torch.backends.cuda.matmul, "fp32_precision")


def tf32_state() -> tuple[str, str]:
    """(matmul, conv) precision of float32 work on CUDA: ``tf32`` or ``ieee``/``none`` (exact).

    Readable without a GPU: the switches are process-wide flags, so tests pin them on a CPU.
    """
    if _new_tf32_api():
        return tuple(b.fp32_precision for b in _tf32_backends())  # type: ignore[return-value]
    return (
        "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee",
        "tf32" if torch.backends.cudnn.allow_tf32 else "ieee",
    )


def _set_tf32(state: tuple[str, str]) -> None:
    if _new_tf32_api():
        # Only the new API: mixing it with ``allow_tf32`` makes torch raise on the next read.
        for backend, value in zip(_tf32_backends(), state, strict=True):
            backend.fp32_precision = value
    else:
        torch.backends.cuda.matmul.allow_tf32 = state[0] == "tf32"
        torch.backends.cudnn.allow_tf32 = state[1] == "tf32"


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """Full float32 inside the block: TF32 off for matmuls and convolutions, no autocast.

    Inception features for FID run here. TF32 keeps 10 bits of mantissa, which moves pool3
    features by about 1e-3 and FID by more than the 1e-3 the harness promises to match
    pytorch-fid by; training may use TF32 (:func:`configure`), scoring never does.
    """
    saved = tf32_state()
    _set_tf32(("ieee", "ieee"))
    try:
        with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
            yield
    finally:
        _set_tf32(saved)


def configure(device: torch.device) -> None:
    """Per-device speed settings: cuDNN autotuning and TF32 on GPUs, all cores on CPUs."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        _set_tf32(("tf32", "tf32"))
    else:
        torch.set_num_threads(cpu_threads())


def resolve_precision(name: str, device: torch.device) -> str:
    """``fp32`` or ``bf16``: ``auto`` is bf16 on a GPU that supports it, else fp32.

    bf16 on a CPU is allowed on purpose: it runs the same autocast code a GPU runs, which is
    how CI exercises the branch every GPU user takes.
    """
    if name not in PRECISIONS:
        raise HarnessError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> Any:
    """The training step's autocast context: bf16 when asked, a no-op for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def pin_memory(device: torch.device) -> bool:
    """Whether host batches should be pinned: only when they are copied to a GPU."""
    return device.type == "cuda"


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy to ``device``, asynchronously from pinned memory on a GPU (a plain copy on CPU)."""
    return tensor.to(device, non_blocking=device.type == "cuda")


def cuda_rng_states(device: torch.device) -> list[torch.Tensor]:
    """The CUDA generators' states for a checkpoint (none on a CPU)."""
    return torch.cuda.get_rng_state_all() if device.type == "cuda" else []


def set_cuda_rng_states(device: torch.device, states: list[torch.Tensor]) -> None:
    """Restore :func:`cuda_rng_states`; a CPU run (or a checkpoint from one) restores nothing."""
    if device.type == "cuda" and states:
        torch.cuda.set_rng_state_all([s.cpu() for s in states])


def peak_memory_mib(device: torch.device) -> dict[str, float]:
    """Peak allocated GPU memory in MiB on a GPU; nothing on a CPU."""
    if device.type != "cuda":
        return {}
    return {"peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20}


def describe(device: torch.device) -> str:
    """A human-readable name of the device, recorded in runs and leaderboard rows."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    processor = platform.processor() or platform.machine()
    return f"cpu:{processor} x{torch.get_num_threads()} threads"
