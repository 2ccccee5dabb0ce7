"""Failed token attempts per client address: refused after N in a window, free again after."""

from __future__ import annotations

from harness.service.ratelimit import AuthGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_n_failures_in_the_window_block_that_address_until_the_oldest_leaves_it() -> None:
    clock = Clock()
    guard = AuthGuard(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert guard.wait_s("10.0.0.1") == 0
        guard.failed("10.0.0.1")
        clock.now += 10  # failures at 1000, 1010, 1020
    assert guard.wait_s("10.0.0.1") == 30  # at 1030; the first leaves the window at 1060
    assert guard.wait_s("10.0.0.2") == 0, "another address is not blocked"
    clock.now = 1059.5
    assert guard.wait_s("10.0.0.1") == 1
    clock.now = 1060.0
    assert guard.wait_s("10.0.0.1") == 0
    guard.failed("10.0.0.1")  # three again within 60 s: 1010, 1020, 1060
    assert guard.wait_s("10.0.0.1") == 10
    assert "3 in 60 s" in guard.refusal("10.0.0.1", 10) and "try again in 10 s" in guard.refusal(
        "10.0.0.1", 10
    )


def test_no_limit_and_a_bounded_memory() -> None:
    from harness.service import ratelimit

    off = AuthGuard(limit=0)
    for _ in range(100):
        off.failed("a")
    assert off.wait_s("a") == 0
    guard = AuthGuard(limit=1)
    for i in range(ratelimit.MAX_ADDRESSES + 5):
        guard.failed(f"h{i}")
    assert guard.wait_s("h0") == 0, "the oldest-seen address was forgotten"
    assert guard.wait_s(f"h{ratelimit.MAX_ADDRESSES + 4}") > 0
