"""Pacing under HubSpot's limits, shared by every thread of one connector.

HubSpot's "API usage guidelines and limits": a private app gets 100 requests per rolling
10 seconds, and the CRM search endpoints 5 requests per second per account. We count
our own sends in two sliding windows and wait before a call would exceed either, so a
burst never earns a 429 in the first place. The windows are a little wider than
HubSpot's (`PAD`, and `JITTER_SECONDS` of real time): HubSpot counts arrivals, we count
sends, and the two differ by the network's jitter and by a busy host's scheduling.

`time_scale` compresses time as `FakeHubSpot(time_scale=...)` does: with 10, HubSpot's
10 s window lasts 1 real second here and there, so a test of a 150-call burst takes
about a second and a half instead of fifteen.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

BURST_MAX = 100
BURST_WINDOW_SECONDS = 10.0
SEARCH_MAX = 5
SEARCH_WINDOW_SECONDS = 1.0
PAD = 1.05  # a window 5% wider than HubSpot's: sends and arrivals differ by jitter
JITTER_SECONDS = 0.1  # and 100 ms more, in real time: a busy host delays some sends


class _Window:
    """At most `limit` events in any `seconds` (real seconds)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.sent: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + self.seconds - now


class Pacer:
    """`acquire()` blocks until one more call fits; `hold(seconds)` stops every thread
    (a 429 told us to wait)."""

    def __init__(
        self,
        *,
        burst_max: int = BURST_MAX,
        search_max: int = SEARCH_MAX,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._burst = _Window(burst_max, BURST_WINDOW_SECONDS * PAD / time_scale + JITTER_SECONDS)
        self._search = _Window(
            search_max, SEARCH_WINDOW_SECONDS * PAD / time_scale + JITTER_SECONDS
        )
        self._held_until = 0.0
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def acquire(self, *, search: bool = False) -> float:
        """Take one slot (a search takes one of each window); returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._held_until - now, self._burst.wait(now))
                if search:
                    wait = max(wait, self._search.wait(now))
                if wait <= 0:
                    self._burst.sent.append(now)
                    if search:
                        self._search.sent.append(now)
                    return waited
            self._sleep(wait)
            waited += wait

    def hold(self, seconds: float) -> None:
        """No call from any thread for `seconds` (real seconds) from now."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

    def hubspot_seconds(self, seconds: float) -> float:
        """Real seconds for a wait stated in HubSpot's seconds (our own backoff)."""
        return seconds / self.time_scale
