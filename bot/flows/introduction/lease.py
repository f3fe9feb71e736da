"""Holding an introduction while a worker runs it: its lease, and the connection it uses.

A worker claims an introduction by taking its lease (`bot.worker`); while the lease is
ours nobody else touches it. A worker stalled past its lease (a hung Slack call) finds
it gone at its next step and stops, so the one that took over finishes alone. The
same when its node was taken for dead (its heartbeat silent, `bot.store.nodes`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from bot.models import Introduction, IntroStatus, utcnow
from bot.store.rows import update_row

# Since when (monotonic) the node has beaten without a gap, or None if it may look dead
# now (`bot.heartbeat.Heartbeat.alive_since`).
Heartbeat = Callable[[], float | None]


class LeaseLost(Exception):
    """Another worker took this introduction over (ours expired); stop touching it."""


@dataclass
class Lease:
    """One worker identity's leases, and the connection each thread's run holds.

    A run holds one connection: its ~20 short transactions would otherwise each check
    one out of the pool (and, on PostgreSQL, ping it first).
    """

    engine: Engine
    owner: str
    seconds: int
    heartbeat: Heartbeat | None = None  # None: no node beats for this owner
    _held: threading.local = field(default_factory=threading.local)

    @property
    def db(self) -> Engine | Connection:
        """The connection this thread's run holds, else the engine."""
        return getattr(self._held, "connection", None) or self.engine

    @contextmanager
    def connection(self) -> Iterator[None]:
        """Hold one connection for this thread's run; the lease is renewed at its start."""
        with self.engine.connect() as connection:
            self._held.connection, self._held.renewed = connection, None
            try:
                yield
            finally:
                self._held.connection = None

    def hold(self, session: Session, intro_id: int) -> None:
        """Renew our lease once half of it has gone by, or stop if it is no longer ours.

        While more than half is left and our node has beaten without a gap since the
        renewal nobody can take it (a claim needs it expired or our node silent), so a
        renewal before every step was a write per step for nothing; the first step of a
        run always renews. A gap (a database outage) may have let another worker take it
        over: then the next step renews, and finds out.
        """
        now = time.monotonic()
        renewed = getattr(self._held, "renewed", None)
        if renewed is not None and now - renewed < self.seconds / 2 and self._kept(renewed):
            return
        held = update_row(
            session, Introduction, intro_id,
            where={"lease_owner": self.owner, "status": IntroStatus.RUNNING},
            lease_until=utcnow() + timedelta(seconds=self.seconds),
        )  # fmt: skip
        if held != 1:
            raise LeaseLost
        self._held.renewed = now

    def _kept(self, renewed: float) -> bool:
        """No one can have taken our node for dead since `renewed`."""
        if self.heartbeat is None:
            return True
        since = self.heartbeat()
        return since is not None and since <= renewed

    def release(self, session: Session, intro_id: int, **values: Any) -> bool:
        """Give the lease up with these changes; False when it was no longer ours."""
        changed = update_row(
            session, Introduction, intro_id, where={"lease_owner": self.owner},
            lease_owner=None, lease_until=None, **values,
        )  # fmt: skip
        return changed == 1
