"""The org's daily API request allowance and the `Sforce-Limit-Info` header.

From "API Request Limits and Allocations" and the REST API guide's "Limit Info Header":
every REST answer carries `Sforce-Limit-Info: api-usage=18/15000` (calls in the last 24
hours / the allowance); once the allowance is used up, calls answer 403
REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." until older calls fall out of the
rolling 24-hour window. The OAuth token endpoint is not an API call and is not counted.
A refused call costs nothing here; Salesforce's grace above the allowance ("soft" limit)
is not modelled: the fake refuses at the number it was given.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

DAY_SECONDS = 86_400.0


class DailyAllowance:
    def __init__(self, allowance: int, clock: Callable[[], float]) -> None:
        self.allowance = allowance
        self.enforce = True
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - DAY_SECONDS:
            self._calls.popleft()

    def acquire(self) -> tuple[bool, str]:
        """Count one call unless the allowance is spent; the header value either way."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            allowed = len(self._calls) < self.allowance or not self.enforce
            if allowed:
                self._calls.append(now)
            return allowed, f"api-usage={len(self._calls)}/{self.allowance}"

    def used(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._calls)

    def use(self, count: int) -> None:
        """Pretend `count` calls were made now (other integrations share the org's quota)."""
        now = self._clock()
        with self._lock:
            self._calls.extend([now] * count)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
