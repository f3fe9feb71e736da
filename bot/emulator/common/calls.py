"""The call log of a CRM fake: what it saw and answered, for a test to inspect.

The dispatcher adds a record when a call arrives and settles it with the answer; the
fake's `CallInspection` methods read copies, so a test never sees a record change under
it while the server keeps answering on other threads.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from bot.emulator.common.faults import matches
from bot.emulator.common.json_http import Reply


@dataclass
class CallRecord:
    """What the fake saw and answered; `status` is None while pending or when dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int | None = None
    fault: str | None = None

    @classmethod
    def arriving(cls, method: str, path: str, query: dict[str, list[str]], body: Any) -> Self:
        """A pending record of copies of what came in, stamped now."""
        return cls(method, path, copy.deepcopy(query), copy.deepcopy(body), time.time())

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def settle(self, reply: Reply) -> None:
        """Note the answer (called under the log's lock); a vendor adds what it reads off
        the body, like Salesforce's `errorCode`."""
        self.status = None if reply.drop else reply.status


Record = TypeVar("Record", bound=CallRecord)


class CallLog(Generic[Record]):
    """Every call in arrival order, behind a lock: request threads write, tests read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = []

    def add(self, record: Record) -> Record:
        with self._lock:
            self._records.append(record)
        return record

    def settle(self, record: Record, reply: Reply) -> None:
        with self._lock:
            record.settle(reply)

    def matching(self, pattern: str | None = None) -> list[Record]:
        """Deep copies of the calls whose `"METHOD /path"` matches the glob (all: None)."""
        with self._lock:
            return [
                copy.deepcopy(c)
                for c in self._records
                if pattern is None or matches(pattern, c.method, c.path)
            ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class CallInspection(Generic[Record]):
    """Mixed into a fake, which sets `_call_log` (its dispatcher's log)."""

    _call_log: CallLog[Record]

    @property
    def calls(self) -> list[Record]:
        return self._call_log.matching()

    def calls_to(self, pattern: str) -> list[Record]:
        """Calls whose `"METHOD /path"` matches the glob (a bare path: any method)."""
        return self._call_log.matching(pattern)

    def call_count(self, pattern: str) -> int:
        return len(self._call_log.matching(pattern))

    def reset_calls(self) -> None:
        self._call_log.clear()
