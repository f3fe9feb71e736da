"""Slack's rate-limit tiers, on a clock that `time_scale` can speed up.

Tiers 1-4 use a sliding window: at most N calls per method per workspace in any 60
Slack-seconds (t1 1, t2 20, t3 50, t4 100). chat.postMessage ("special" tier t5) uses a
token bucket per channel: one message per Slack-second with a burst of
`POST_MESSAGE_BURST`. Other t5 methods (auth.test, chat.getPermalink) are unlimited,
as Slack documents them. With `time_scale=60`, one Slack minute lasts one real second,
and a 429's `Retry-After` is Slack's whole seconds compressed: a decimal (see
`retry_after_headers`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from bot.emulator.reference import METHODS

TIER_PER_MINUTE = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}
WINDOW_SECONDS = 60.0
POST_MESSAGE_BURST = 3
POST_MESSAGE_PER_SECOND = 1.0


class RateLimiter:
    """Decides whether a call fits its method's budget; rejected calls cost nothing."""

    def __init__(self, *, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, method: str, *, channel: str | None = None) -> float | None:
        """Count the call and return None, or return the real seconds to wait before retrying."""
        now = self._clock() * self.time_scale
        with self._lock:
            if method == "chat.postMessage":
                wait = self._take_token(channel or "", now)
            else:
                ref = METHODS.get(method)
                limit = TIER_PER_MINUTE.get(ref.tier if ref else "t3")
                wait = None if limit is None else self._slide(method, limit, now)
        return None if wait is None else wait / self.time_scale

    def _slide(self, method: str, limit: int, now: float) -> float | None:
        window = self._windows.setdefault(method, deque())
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            return window[0] + WINDOW_SECONDS - now
        window.append(now)
        return None

    def _take_token(self, channel: str, now: float) -> float | None:
        tokens, last = self._buckets.get(channel, (float(POST_MESSAGE_BURST), now))
        tokens = min(float(POST_MESSAGE_BURST), tokens + (now - last) * POST_MESSAGE_PER_SECOND)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return (1.0 - tokens) / POST_MESSAGE_PER_SECOND
        self._buckets[channel] = (tokens - 1.0, now)
        return None


def retry_after_headers(wait_seconds: float, *, time_scale: float = 1.0) -> dict[str, str]:
    """Slack's `Retry-After`: whole Slack seconds, at least 1; the precise wait rides along
    in ms. `wait_seconds` is real time.

    On a compressed clock those whole seconds are compressed too, so the header is a
    decimal there: whole *real* seconds would make every 429 cost at least `time_scale`
    Slack seconds (a whole minute at 60), which real Slack never asks for.
    """
    whole = max(1, math.ceil(wait_seconds * time_scale - 1e-9))
    if time_scale == 1:
        retry_after = str(whole)
    else:
        retry_after = f"{math.ceil(whole / time_scale * 1000) / 1000:.3f}"
    return {
        "Retry-After": retry_after,
        "X-Fake-Retry-After-Ms": str(max(1, math.ceil(wait_seconds * 1000))),
    }
