"""The device module: the CUDA-only path is skipped cleanly without CUDA, and the settings
that keep FID exact (TF32 off) or make training fast (bf16 autocast) do what they say."""

from __future__ import annotations

import pytest
import torch

from harness import device
from harness.errors import HarnessError

CUDA_ONLY_CALLS = (
    "get_device_name",
    "is_bf16_supported",
    "max_memory_allocated",
    "get_rng_state_all",
    "set_rng_state_all",
)


def test_the_cpu_path_never_calls_a_cuda_api(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("a CUDA-only API was called on the CPU path")

    for name in CUDA_ONLY_CALLS:
        monkeypatch.setattr(torch.cuda, name, forbidden)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    tf32_before = device.tf32_state()
    cpu = device.resolve_device("cpu")
    device.configure(cpu)
    assert torch.backends.cudnn.benchmark is False and device.tf32_state() == tf32_before
    assert device.resolve_precision("auto", cpu) == "fp32"
    assert device.pin_memory(cpu) is False
    assert device.peak_memory_mib(cpu) == {}
    assert device.cuda_rng_states(cpu) == []
    device.set_cuda_rng_states(cpu, [torch.zeros(4, dtype=torch.uint8)])  # ignored, no call
    assert device.to_device(torch.ones(2), cpu).device.type == "cpu"
    assert device.describe(cpu).startswith("cpu:")
    with device.autocast(cpu, "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with device.autocast(cpu, "bf16"):
        assert torch.is_autocast_enabled("cpu")
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
@pytest.mark.parametrize("names", ["cuda", "cuda:1", "cpu,cuda:0"])
def test_asking_for_cuda_without_it_is_one_clear_error(names: str) -> None:
    with pytest.raises(HarnessError, match="no CUDA GPU is visible; use --device cpu"):
        device.parse_devices(names)
    assert device.device_count() == 0


def test_device_lists_are_checked_against_the_gpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two GPUs simulated: what --devices accepts and refuses is decided without touching them.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert device.parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert device.parse_devices(None) == ["auto"]
    with pytest.raises(
        HarnessError, match=r"only 2 CUDA GPU\(s\) are visible \(cuda:0 to cuda:1\)"
    ):
        device.parse_devices("cuda:0,cuda:2")
    with pytest.raises(HarnessError, match="has an empty entry"):
        device.parse_devices("cuda:0,,cuda:1")
    with pytest.raises(HarnessError, match="unsupported device 'meta'"):
        device.parse_devices("meta")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert device.resolve_precision("auto", torch.device("cuda:1")) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # pre-Ampere GPUs
    assert device.resolve_precision("auto", torch.device("cuda:1")) == "fp32"
    with pytest.raises(HarnessError, match="unknown precision 'fp16'; use auto, fp32, bf16"):
        device.resolve_precision("fp16", torch.device("cpu"))


def test_exact_fp32_turns_tf32_and_autocast_off_and_restores_them() -> None:
    saved = device.tf32_state()
    try:
        device._set_tf32(("tf32", "tf32"))  # as configure() leaves a GPU for training
        with torch.autocast("cpu", dtype=torch.bfloat16):
            with device.exact_fp32():
                assert device.tf32_state() == ("ieee", "ieee")
                assert not torch.is_autocast_enabled("cpu")
                assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.float32
            assert torch.is_autocast_enabled("cpu")
        assert device.tf32_state() == ("tf32", "tf32")
    finally:
        device._set_tf32(saved)
