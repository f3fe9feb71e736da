"""A connector's credential health, as its Connector row shows it (`/healthz`, `status`,
the admins' Home): one record of each change, one log line of each, shared by every
CRM client."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

from bot.crm.connector import ConnectorUnavailable
from bot.db import session_scope
from bot.models import utcnow
from bot.store.connectors import record_failure, record_ok

OK_REFRESH_SECONDS = 30.0  # how often a healthy connector re-records that it works


class ConnectorHealth:
    """A refusal is recorded at once and logged when it starts; a success is recorded at
    once after a failure (or the first in this process), else every OK_REFRESH_SECONDS,
    so a busy connector does not write its row at every call."""

    def __init__(self, engine: Engine, name: str, log: logging.Logger) -> None:
        self.engine, self.name, self.log = engine, name, log  # the client's own logger
        self._lock = threading.Lock()
        self._failing: bool | None = None  # None: not known yet in this process
        self._ok_at = 0.0

    def refused(self, reason: str, detail: str) -> ConnectorUnavailable:
        """Record the refusal; the error for the caller to raise."""
        with session_scope(self.engine) as session:
            started = record_failure(session, name=self.name, reason=reason, now=utcnow())
        with self._lock:
            self._failing = True
        if started:
            self.log.warning("connector=%s failing: %s", self.name, detail)
        return ConnectorUnavailable(self.name, reason, credential=True)

    def ok(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._failing is False and now - self._ok_at <= OK_REFRESH_SECONDS:
                return
            self._failing, self._ok_at = False, now
        with session_scope(self.engine) as session:
            recovered = record_ok(session, name=self.name, now=utcnow())
        if recovered:
            self.log.info("connector=%s recovered", self.name)
