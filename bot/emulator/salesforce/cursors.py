"""Query locators: the server-side cursors behind `nextRecordsUrl`.

REST API guide, "Query" and "Query More Results": a query with more rows than a batch
answers `done: false` and `nextRecordsUrl: /services/data/vXX.X/query/<locator>-<n>`,
`n` being how many rows came before the next batch. Batches are 2,000 rows unless the
`Sforce-Query-Options: batchSize=N` header (200 to 2,000, "not guaranteed") asks for
fewer; the fake keeps N within those bounds and never answers more than `max_batch`.
The set of rows is fixed when the query runs; each batch renders them as they are when
it is fetched. A user keeps at most 10 cursors open (the oldest is closed when an
eleventh opens) and a cursor closes after 15 minutes unused: fetching from a closed one
answers INVALID_QUERY_LOCATOR.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.emulator.salesforce.ids import make_id
from bot.emulator.salesforce.query import Plan

DEFAULT_BATCH, MIN_BATCH = 2000, 200
MAX_OPEN, IDLE_SECONDS = 10, 15 * 60.0
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(header: str | None, max_batch: int) -> int:
    found = _BATCH.search(header or "")
    wanted = int(found[1]) if found else DEFAULT_BATCH
    return max(1, min(max(MIN_BATCH, min(wanted, DEFAULT_BATCH)), max_batch))


@dataclass
class Cursor:
    plan: Plan
    ids: list[str]
    batch: int
    used_at: float


class Cursors:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._count = 0

    def open(self, plan: Plan, ids: list[str], batch: int) -> str:
        with self._lock:
            self._count += 1
            locator = make_id("01g", self._count)
            self._open[locator] = Cursor(plan, ids, batch, self._clock())
            while len(self._open) > MAX_OPEN:
                self._open.popitem(last=False)
            return locator

    def get(self, locator: str) -> Cursor | None:
        now = self._clock()
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is not None and now - cursor.used_at > IDLE_SECONDS:
                del self._open[locator]
                cursor = None
            if cursor is not None:
                cursor.used_at = now
            return cursor

    def close_all(self) -> None:
        with self._lock:
            self._open.clear()

    def count(self) -> int:
        with self._lock:
            return len(self._open)
