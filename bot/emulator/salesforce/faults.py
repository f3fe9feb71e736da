"""Scripted Salesforce failures, matched by `"METHOD /path"` glob patterns.

The patterns are the HubSpot fake's (`bot.emulator.hubspot.faults.matches`): a bare path
matches any method, `"POST /services/data/*/sobjects/Task/"` one call. Kinds: `status` (a
5xx with Salesforce's JSON list body), `drop` (the connection closes without an answer,
before or after the call took effect: "the Task exists, we never learned its id"),
`delay` (carried out, answered late) and `hang` (carried out or not, then held until
released: a request in flight while the test does something else).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from bot.emulator.hubspot.faults import matches


@dataclass
class SalesforceFault:
    kind: str  # "status", "drop", "delay" or "hang"
    label: str
    status: int = 500
    after_effect: bool = False
    remaining: int = 1
    delay_seconds: float = 0.0
    retry_after: float | None = None
    release: threading.Event = field(default_factory=threading.Event)


class FaultPlan:
    """Faults in the order they were scripted; the first that matches a call is used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[str, SalesforceFault]] = []
        self._events: list[threading.Event] = []

    def add(self, pattern: str, fault: SalesforceFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append((pattern, fault))
            self._events.append(fault.release)

    def take(self, method: str, path: str) -> SalesforceFault | None:
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
        """Forget every fault; hung calls are released, not stranded."""
        with self._lock:
            self._faults.clear()
            events, self._events = self._events, []
        for event in events:
            event.set()
