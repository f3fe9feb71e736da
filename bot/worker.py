"""The background worker: claims due introductions and runs them.

Claims are leases written with a conditional UPDATE, atomic on SQLite and PostgreSQL
alike, so any number of worker threads or processes can run: each introduction is run
by one of them at a time, and a crashed worker's lease simply expires. A stopped one
(SIGTERM, as at every deploy) ends its current steps and hands the introductions back,
so the next worker need not wait for the leases to run out.

A worker runs `threads` introductions at once (`CARE_WORKER_THREADS`): most of an
introduction is waiting on Slack, and while one waits out a method's rate limit the
others go on with theirs. The first thread also runs the periodic tasks.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine, or_, update
from sqlmodel import col, select

from bot.config import Settings
from bot.db import session_scope
from bot.flows.home import HomePublisher, HomeRefresh
from bot.flows.introduction import IntroductionRunner
from bot.models import CrmEvent, Deal, Introduction, IntroStatus, utcnow

log = logging.getLogger(__name__)
ACTIVE = (IntroStatus.PENDING, IntroStatus.RUNNING)
# CRM events about the introduction's deal not yet applied (both columns are indexed).
_NEWS_PENDING = (
    select(CrmEvent.id)
    .join(Deal, col(Deal.crm_id) == col(CrmEvent.crm_id))
    .where(col(Deal.id) == col(Introduction.deal_id), col(CrmEvent.processed_at).is_(None))
    .exists()
)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


STOP_GRACE_SECONDS = 25.0  # within the 30 s a platform gives between SIGTERM and SIGKILL


def stop_on_signals(stop: Callable[[], None]) -> None:
    """The first SIGTERM or SIGINT calls `stop` instead of killing the process mid-step;
    a second one kills it (a second Ctrl-C does not wait)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (tests run workers elsewhere)
    signals = (signal.SIGTERM, signal.SIGINT)

    def handle(signum: int, _frame: object) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_DFL)
        log.info("signal %s: stopping after the steps under way", signal.Signals(signum).name)
        stop()

    for signum in signals:
        signal.signal(signum, handle)


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
        threads: int = 1,
    ) -> None:
        self.engine = engine
        self.owner = owner or worker_id()
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.homes = HomeRefresh(HomePublisher(engine, client, settings))
        self._stop = threading.Event()
        self.runners = [
            IntroductionRunner(
                engine=engine,
                client=client,
                settings=settings,
                owner=self.owner if index == 0 else f"{self.owner}/{index}",  # a lease each
                lease_seconds=lease_seconds,
                homes=self.homes,
                stopping=self._stop,
            )
            for index in range(max(1, threads))
        ]
        self.runner = self.runners[0]
        self.tasks: list[tuple[str, Callable[[], int]]] = []
        self._wakes = [threading.Event() for _ in self.runners]
        self._threads: list[threading.Thread] = []
        self._running = 0  # introductions being run by this worker's threads
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Listeners call this after recording work, so it starts at once, not at the next poll."""
        for event in self._wakes:
            event.set()

    def claim(self, owner: str | None = None) -> int | None:
        """Take the lease of the oldest due introduction, if any.

        Not while CRM news about its deal waits in the inbox: a batch saying "Contract
        Sent", then "Closed Lost" must cancel the introduction, not race it (the events
        are applied one transaction each, and another thread could claim in between).
        """
        now = utcnow()
        due = (
            col(Introduction.status).in_(ACTIVE),
            or_(col(Introduction.lease_until).is_(None), col(Introduction.lease_until) < now),
            or_(
                col(Introduction.next_attempt_at).is_(None),
                col(Introduction.next_attempt_at) <= now,
            ),
            ~_NEWS_PENDING,
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
                        lease_owner=owner or self.owner,
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
        count = self.run_introductions(self.runner)
        for name, task in self.tasks:
            try:
                count += task()
            except Exception:
                log.exception("task=%s failed; it runs again at the next poll", name)
        return count

    def run_introductions(self, runner: IntroductionRunner) -> int:
        """Claim and run due introductions until none is left; Homes follow, debounced."""
        count = 0
        while not self._stop.is_set() and (intro_id := self.claim(runner.owner)) is not None:
            with self._lock:
                self._running += 1
            try:
                runner.run(intro_id)
            finally:
                with self._lock:
                    self._running -= 1
            count += 1
            self.homes.flush()
        with self._lock:
            idle = self._running == 0
        if idle:  # the last thread to run out of work publishes what is pending
            self.homes.flush(force=True)
        return count

    def run_forever(self, index: int = 0) -> None:
        log.info("worker %s started", self.runners[index].owner)
        wake = self._wakes[index]
        while not self._stop.is_set():
            try:
                if index == 0:
                    self.run_once()
                else:
                    self.run_introductions(self.runners[index])
            except Exception:
                log.exception("worker loop error; going on after a pause")
            wake.wait(self.poll_seconds)
            wake.clear()
        log.info("worker %s stopped", self.runners[index].owner)

    def run_all(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Every thread until stopped, the first in the caller's: the `worker` command.

        SIGTERM (a deploy or restart: Heroku waits 30 s, then kills) and SIGINT stop it
        gently: each thread ends its current step and hands its introduction back.
        """
        stop_on_signals(self.stop_soon)
        self.start(first=1)
        self.run_forever(0)
        self.join(grace_seconds)

    def stop_soon(self) -> None:
        """Ask every thread to stop after its current step; returns at once."""
        self._stop.set()
        self.wake()

    def start(self, first: int = 0) -> list[threading.Thread]:
        self._threads = [
            threading.Thread(
                target=self.run_forever,
                args=(index,),
                name=f"careintro-worker-{index}",
                daemon=True,
            )
            for index in range(first, len(self.runners))
        ]
        for thread in self._threads:
            thread.start()
        return self._threads

    def stop(self, timeout: float = 10) -> None:
        self.stop_soon()
        self.join(timeout)

    def join(self, timeout: float) -> None:
        """Wait, `timeout` in all, for the threads `start` began."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
