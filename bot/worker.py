"""The background worker: claims due introductions and runs them.

Claims are leases written with a conditional UPDATE, atomic on SQLite and PostgreSQL
alike, so any number of worker threads or processes can run: each introduction is run
by one of them at a time, and a crashed worker's lease simply expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine, or_, update
from sqlmodel import col, select

from bot.config import Settings
from bot.db import session_scope
from bot.flows.introduction import IntroductionRunner
from bot.models import Introduction, IntroStatus, utcnow

log = logging.getLogger(__name__)
ACTIVE = (IntroStatus.PENDING, IntroStatus.RUNNING)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: WebClient,
        *,
        poll_seconds: float = 2.0,
        lease_seconds: int = 300,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner or worker_id()
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.runner = IntroductionRunner(
            engine=engine,
            client=client,
            settings=settings,
            owner=self.owner,
            lease_seconds=lease_seconds,
        )
        self.tasks: list[tuple[str, Callable[[], int]]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Listeners call this after recording work, so it starts at once, not at the next poll."""
        self._wake.set()

    def claim(self) -> int | None:
        """Take the lease of the oldest due introduction, if any."""
        now = utcnow()
        due = (
            col(Introduction.status).in_(ACTIVE),
            or_(col(Introduction.lease_until).is_(None), col(Introduction.lease_until) < now),
            or_(
                col(Introduction.next_attempt_at).is_(None),
                col(Introduction.next_attempt_at) <= now,
            ),
        )
        with session_scope(self.engine) as session:
            candidates = session.exec(
                select(Introduction.id).where(*due).order_by(Introduction.id).limit(20)
            ).all()
            for intro_id in candidates:
                taken = session.execute(
                    update(Introduction)
                    .where(col(Introduction.id) == intro_id, *due)
                    .values(
                        lease_owner=self.owner,
                        status=IntroStatus.RUNNING,
                        lease_until=now + timedelta(seconds=self.lease_seconds),
                    )
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    session.commit()
                    return intro_id
        return None

    def run_once(self) -> int:
        """Run due introductions until none is left, then each periodic task once.

        Returns how much work was done; a task's failure is logged and does not stop
        the others.
        """
        count = 0
        while not self._stop.is_set() and (intro_id := self.claim()) is not None:
            self.runner.run(intro_id)
            count += 1
        for name, task in self.tasks:
            try:
                count += task()
            except Exception:
                log.exception("task=%s failed; it runs again at the next poll", name)
        return count

    def run_forever(self) -> None:
        log.info("worker %s started", self.owner)
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("worker loop error; going on after a pause")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        log.info("worker %s stopped", self.owner)

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(
            target=self.run_forever, name="careintro-worker", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
