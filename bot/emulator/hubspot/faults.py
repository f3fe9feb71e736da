"""Scripted HubSpot failures, matched by `"METHOD /path"` glob patterns.

A pattern like `"POST /crm/v3/objects/notes"` or `"GET /crm/v3/objects/deals/*"` (or a
bare path, any method) picks the calls; each fault answers the next `count` of them.
Kinds: `status` (a 5xx in HubSpot's error shape), `ratelimited` (429, with or without
`Retry-After`) and `drop` (the connection closes without an answer, before or after the
call took effect: "HubSpot created the note but we never heard back") and `delay` (the
call is carried out and answered late, so a client with a shorter timeout gives up on a
call that did happen).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase


@dataclass
class HubSpotFault:
    kind: str  # "status", "ratelimited", "drop" or "delay"
    label: str
    status: int = 500
    retry_after: float | None = None  # HubSpot seconds; None sends no Retry-After
    policy: str = "TEN_SECONDLY_ROLLING"
    after_effect: bool = False
    remaining: int = 1
    delay_seconds: float = 0.0  # "delay": real seconds before the call is carried out


def matches(pattern: str, method: str, path: str) -> bool:
    if " " in pattern:
        return fnmatchcase(f"{method} {path}", pattern)
    return fnmatchcase(path, pattern)


class FaultPlan:
    """Faults in the order they were scripted; the first that matches a call is used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[str, HubSpotFault]] = []

    def add(self, pattern: str, fault: HubSpotFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append((pattern, fault))

    def take(self, method: str, path: str) -> HubSpotFault | None:
        with self._lock:
            for index, (pattern, fault) in enumerate(self._faults):
                if matches(pattern, method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        del self._faults[index]
                    return replace(fault, remaining=1)
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for _, f in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
