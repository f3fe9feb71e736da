"""Salesforce's own fault kinds on top of the shared glob fault plan (`bot.emulator.common`).

Patterns: a bare path matches any method, `"POST /services/data/*/sobjects/Task/"` one
call. Kinds: `status` (a 5xx with Salesforce's JSON list body, optionally after the call
took effect), the shared `drop` and `delay`, and `hang` (carried out or not, then held
until released: a request in flight while the test does something else).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.emulator.common.faults import Fault
from bot.emulator.common.faults import FaultPlan as GlobFaultPlan


@dataclass(kw_only=True)
class SalesforceFault(Fault):
    """`kind` is "status", "drop", "delay" or "hang"."""

    release: threading.Event = field(default_factory=threading.Event)  # ends a "hang"


class FaultPlan(GlobFaultPlan[SalesforceFault]):
    """The shared plan, plus: clearing it releases every hung call."""

    def __init__(self) -> None:
        super().__init__()
        self._events: list[threading.Event] = []

    def add(self, pattern: str, fault: SalesforceFault) -> None:
        with self._lock:  # known before the fault can be taken, so `clear` never misses it
            self._events.append(fault.release)
        super().add(pattern, fault)

    def clear(self) -> None:
        """Forget every fault; hung calls are released, not stranded."""
        super().clear()
        with self._lock:
            events, self._events = self._events, []
        for event in events:
            event.set()
