"""Scripted failures of a CRM fake, matched by `"METHOD /path"` glob patterns.

A pattern like `"POST /crm/v3/objects/notes"` or `"GET /services/data/*/query"` (or a
bare path, any method) picks the calls; each fault answers the next `count` of them.
The kinds every fake has: `drop` (the connection closes without an answer, before or
after the call took effect: "the record exists, we never learned its id") and `delay`
(carried out and answered late, so a client with a shorter timeout gives up on a call
that did happen). A vendor adds its own kinds (HubSpot's 429s, Salesforce's hung calls)
and the error body of a `status` fault.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Generic, TypeVar


def matches(pattern: str, method: str, path: str) -> bool:
    """`"GET /a/*"` matches method and path; a pattern without a space, the path only."""
    if " " in pattern:
        return fnmatchcase(f"{method} {path}", pattern)
    return fnmatchcase(path, pattern)


@dataclass(kw_only=True)
class Fault:
    """One scripted fault; `remaining` counts the calls it still answers."""

    kind: str  # "status", "drop", "delay", or a vendor's own
    label: str  # what the call log's `fault` shows
    status: int = 500
    after_effect: bool = False  # carry the call out first, then fail it
    remaining: int = 1
    delay_seconds: float = 0.0  # "delay": real seconds before the call is carried out
    retry_after: float | None = None  # None sends no Retry-After


AnyFault = TypeVar("AnyFault", bound=Fault)


class FaultPlan(Generic[AnyFault]):
    """Faults in the order they were scripted; the first that matches a call is used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[str, AnyFault]] = []

    def add(self, pattern: str, fault: AnyFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append((pattern, fault))

    def take(self, method: str, path: str) -> AnyFault | None:
        """The fault for this call (a copy with `remaining=1`), used up once it has
        answered its count."""
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


class FaultScripting(Generic[AnyFault]):
    """The fault controls both CRM fakes have; mixed into a fake, which sets `_faults`
    and names its fault class in `_fault_type`."""

    _faults: FaultPlan[AnyFault]
    _fault_type: type[AnyFault]

    def drop_next(self, pattern: str, count: int = 1, *, after_effect: bool = False) -> None:
        """Close the connection without answering; with `after_effect` the call is carried
        out first (the note or Task exists, the caller never learns its id)."""
        label = "drop_after_effect" if after_effect else "drop"
        fault = self._fault_type(
            kind="drop", label=label, after_effect=after_effect, remaining=count
        )
        self._faults.add(pattern, fault)

    def delay_next(self, pattern: str, seconds: float, *, count: int = 1) -> None:
        """The next `count` matching calls are carried out and answered `seconds` (real)
        late: a client whose timeout is shorter gives up on a call that did happen."""
        fault = self._fault_type(
            kind="delay", label="delay", delay_seconds=seconds, remaining=count
        )
        self._faults.add(pattern, fault)

    def clear_faults(self) -> None:
        self._faults.clear()
