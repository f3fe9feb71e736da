"""A worker node's heartbeat: the row that tells the others it still holds its leases."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime

from sqlalchemy import Engine

from bot.db import session_scope
from bot.models import utcnow
from bot.outages import Outage, database_lost
from bot.store.nodes import FRESH_SECONDS, HEARTBEAT_SECONDS, beat, forget_old_nodes

log = logging.getLogger(__name__)


class Heartbeat:
    """This node's heartbeat, written from a thread of its own so that a long task or a
    slow step never makes a live worker look dead.

    The others judge it by the wall clock (`heartbeat_at` against their `now`), so a beat
    is recent only when it is by both clocks: the monotonic one for a beat that did not
    land (an outage), the wall clock for a jump of it (an NTP step), either of which can
    make the node's row look dead for a moment.
    """

    def __init__(self, engine: Engine, node_id: str, database: Outage) -> None:
        self.engine = engine
        self.node_id = node_id
        self.database = database
        self.last: float | None = None  # monotonic: when the last beat that landed began
        self.since: float | None = None  # when the last unbroken run of landed beats began
        self.last_wall: datetime | None = None  # the wall-clock time the last beat wrote
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat_once(self) -> bool:
        started = time.monotonic()
        try:
            with session_scope(self.engine) as session:
                now = utcnow()
                beat(session, node_id=self.node_id, host=socket.gethostname()[:128],
                     pid=os.getpid(), now=now)  # fmt: skip
                if self.last is None:
                    forget_old_nodes(session, now=now)
        except Exception as exc:
            if not database_lost(exc):
                log.exception("node=%s heartbeat failed", self.node_id)
            self.database.failed(exc)
            return False
        if not self._recent(started, now):  # a gap the others may have seen as a death
            self.since = started
        self.last, self.last_wall = started, now
        self.database.answered()
        return True

    def _recent(self, at: float, wall: datetime) -> bool:
        """The last landed beat is recent at monotonic `at` and wall-clock `wall`."""
        if self.last is None or self.last_wall is None:
            return False
        walked = (wall - self.last_wall).total_seconds()
        return at - self.last < FRESH_SECONDS and walked < FRESH_SECONDS

    def fresh(self) -> bool:
        """This node may claim: it has no node row yet (its claims are never taken for a
        dead node's), or its last beat is recent.

        After a database outage longer than `SILENT_SECONDS`, or the wall clock jumping
        ahead, the node's row looks dead until the next beat lands: a claim made before
        it would be free for the taking by any other thread, ours included, and two runs
        of one introduction would race.
        """
        return self.last is None or self._recent(time.monotonic(), utcnow())

    def alive_since(self) -> float | None:
        """Since when (monotonic) no one can have taken this node for dead, or None if
        they may now: a lease renewed before that moment is still surely ours."""
        return self.since if self._recent(time.monotonic(), utcnow()) else None

    def start(self) -> None:
        """Beat once now (registered before the first claim), then every 2 seconds."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.beat_once()
        self._thread = threading.Thread(target=self._run, name="careintro-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.beat_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
