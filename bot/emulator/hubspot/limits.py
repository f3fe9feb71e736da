"""HubSpot's rate limits on a clock that `time_scale` can speed up.

From HubSpot's "API usage guidelines and limits" page, for a private app on a
Free/Starter account: a burst limit of 100 requests per rolling 10 seconds per app
(policy TEN_SECONDLY_ROLLING) and 250,000 a day (DAILY); the CRM search endpoints
have their own limit of 5 requests per second per account (SECONDLY). Every answer
carries the `X-HubSpot-RateLimit-*` headers that page lists: `-Max`, `-Remaining` and
`-Interval-Milliseconds` for the burst window, `-Daily` and `-Daily-Remaining`, and the
deprecated (still sent, no longer enforced by HubSpot) `-Secondly`/`-Secondly-Remaining`.

With `time_scale=10`, ten HubSpot seconds last one real second; the interval header
reports the real (compressed) window so a client that paces itself by it stays right.
A rejected call costs nothing, as at HubSpot.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

BURST_MAX = 100
BURST_WINDOW_SECONDS = 10.0
DAILY_MAX = 250_000
SEARCH_PER_SECOND = 5
DAY_SECONDS = 86_400.0


@dataclass
class Verdict:
    """`policy` is None when the call fits; else the policyName of the limit it hit."""

    policy: str | None
    headers: dict[str, str] = field(default_factory=dict)
    wait_seconds: float = 0.0  # real seconds until the limit lets a call through


@dataclass
class _Usage:
    window: deque[float] = field(default_factory=deque)
    day: int = 0
    daily_used: int = 0


class HubSpotLimiter:
    """Counts calls per token (burst, daily) and per portal (search)."""

    def __init__(
        self,
        *,
        burst_max: int = BURST_MAX,
        window_seconds: float = BURST_WINDOW_SECONDS,
        daily_max: int = DAILY_MAX,
        search_per_second: int = SEARCH_PER_SECOND,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.burst_max, self.window_seconds = burst_max, window_seconds
        self.daily_max, self.search_per_second = daily_max, search_per_second
        self.time_scale = time_scale
        self.enforce = True
        self._clock = clock
        self._lock = threading.Lock()
        self._usage: dict[str, _Usage] = {}
        self._search: deque[float] = deque()

    def _now(self) -> float:
        return self._clock() * self.time_scale

    def acquire(self, token: str, *, search: bool = False) -> Verdict:
        """Count one call (unless a limit refuses it) and say which headers it gets."""
        now = self._now()
        with self._lock:
            usage = self._usage.setdefault(token, _Usage())
            self._expire(usage, now)
            policy, wait = self._refusal(usage, now, search=search)
            if policy is None or not self.enforce:
                policy = None
                usage.window.append(now)
                usage.daily_used += 1
                if search:
                    self._search.append(now)
            return Verdict(policy, self._headers(usage, now), wait / self.time_scale)

    def _expire(self, usage: _Usage, now: float) -> None:
        while usage.window and usage.window[0] <= now - self.window_seconds:
            usage.window.popleft()
        while self._search and self._search[0] <= now - 1.0:
            self._search.popleft()
        day = int(now // DAY_SECONDS)
        if day != usage.day:
            usage.day, usage.daily_used = day, 0

    def _refusal(self, usage: _Usage, now: float, *, search: bool) -> tuple[str | None, float]:
        if usage.daily_used >= self.daily_max:
            return "DAILY", DAY_SECONDS - now % DAY_SECONDS
        if len(usage.window) >= self.burst_max:
            return "TEN_SECONDLY_ROLLING", usage.window[0] + self.window_seconds - now
        if search and len(self._search) >= self.search_per_second:
            return "SECONDLY", self._search[0] + 1.0 - now
        return None, 0.0

    def _headers(self, usage: _Usage, now: float) -> dict[str, str]:
        last_second = sum(1 for t in usage.window if t > now - 1.0)
        secondly = max(1, math.ceil(self.burst_max / self.window_seconds))
        interval_ms = round(self.window_seconds * 1000 / self.time_scale)
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_max - usage.daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
            "X-HubSpot-RateLimit-Max": str(self.burst_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.burst_max - len(usage.window))),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
        }

    def reset(self) -> None:
        with self._lock:
            self._usage.clear()
            self._search.clear()
