"""Failed token attempts, counted per client address: brute force is refused, not answered.

A token has 256 random bits, so guessing one is hopeless; what this stops is the noise of a
client that tries anyway (and a leaked list of old tokens being replayed). After ``limit``
failed attempts (an unknown or revoked token) from one address within ``window_s`` seconds,
every request from that address that presents a token is refused with 429 until the oldest
of those failures leaves the window. While refused, no token is looked up, so a blocked
client learns nothing about its guesses, not even whether one was right.

The counts live in the server's memory: a restart forgets them, which only ever helps the
client. The address is the one uvicorn reports: behind a reverse proxy on this machine, the
proxy's ``X-Forwarded-For`` (uvicorn trusts it from 127.0.0.1 by default), else every team
would share the proxy's address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

LIMIT = 20
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000  # the oldest-seen addresses are forgotten beyond this


class AuthGuard:
    """Sliding-window counts of failed token attempts per client address (thread-safe: FastAPI
    runs the auth dependency in a thread pool)."""

    def __init__(
        self,
        limit: int = LIMIT,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        found = self._failures.get(address)
        if found is None:
            return deque()
        while found and found[0] <= now - self.window_s:
            found.popleft()
        if not found:
            del self._failures[address]
        return found

    def wait_s(self, address: str) -> int:
        """Whole seconds until ``address`` may try a token again (0: it may now)."""
        if self.limit <= 0:
            return 0
        with self._lock:
            now = self._clock()
            recent = self._recent(address, now)
            if len(recent) < self.limit:
                return 0
            return max(1, math.ceil(recent[-self.limit] + self.window_s - now))

    def failed(self, address: str) -> None:
        """Count one failed attempt from ``address``."""
        with self._lock:
            now = self._clock()
            recent = self._recent(address, now)
            recent.append(now)
            self._failures[address] = recent
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)

    def refusal(self, address: str, wait_s: int) -> str:
        """The one-line reason a blocked client reads."""
        return (
            f"too many failed token attempts from {address} ({self.limit} in "
            f"{self.window_s:g} s); try again in {wait_s} s"
        )
