"""The background worker: claims due introductions and runs them.

Claims are leases written with a conditional UPDATE, atomic on SQLite and PostgreSQL
alike, so any number of worker threads or processes can run: each introduction is run
by one of them at a time. A stopped worker (SIGTERM, as at every deploy) ends its
current steps and hands the introductions back, so the next worker need not wait.

Liveness apart from the lease. A worker that dies without stopping (kill -9, out of
memory, a lost host) must not hold its introductions for the lease's 300 seconds, yet
the lease must stay long: it is what stops a worker stalled on a hung Slack call. So
each worker is a node with a heartbeat (`bot.store.nodes`): a thread of its own writes
it every 2 seconds, and a claim is free when its lease ran out OR its node has been
silent for 8 (`bot.store.claims.lease_free`), which the restarted process or any other
worker then takes over within ~10 seconds, resuming at the first step not done, in
resumed mode (Slack looked at before acting): nothing is done twice. This is how
Sidekiq Pro's super_fetch, Oban's Lifeline and GoodJob's process records rescue the
jobs of a silent node. PostgreSQL's session advisory locks, which vanish with the
connection, were the other choice: instant, but SQLite has none (two mechanisms to
test), a lock lives on one connection (a run's reconnect after a failover would drop
it), and a pooler in transaction mode (PgBouncer) breaks them. The heartbeat works the
same on both databases and needs only the rows we already have.

A lease owner is the node's name, `host:pid:random` (`worker_id`), and its threads'
`name/1`, `name/2`…: claims find the node by that prefix, so the tables that already
had a `lease_owner` needed no new column and a write-back's claim (the CRM work) gets
the rule for free. A node that only looks dead (a GC pause, its database connection
lost for 8 s) finds its lease gone at its next step, as a stalled one does: a run checks
its lease before every step unless its own heartbeat is fresh (`Lease.hold`).

A worker runs `threads` introductions at once (`CARE_WORKER_THREADS`): most of an
introduction is waiting on Slack, and while one waits out a method's rate limit the
others go on with theirs. The first thread also runs the periodic tasks, which the
delivery layer builds and hands in (`bot.tasks.build_worker`), after each introduction it
runs, not once the queue is empty: a webhook batch of 500 deals queues introductions
200 at a time, and the CRM's news (reading the next deals) and the write-backs must not
wait for the queue to drain (bench/hubspot_introductions.py). A lost database or Slack
is logged once when it goes and once when it is back (`bot.outages`), not at every
poll of every thread; while Slack is lost, one `api.test` a poll tells when it is back,
and the work waiting on it goes on by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import DEFAULT_LEASE_SECONDS, Settings
from bot.db import session_scope
from bot.flows.home import HomeRefresh
from bot.flows.introduction import IntroductionRunner
from bot.heartbeat import Heartbeat
from bot.models import utcnow
from bot.outages import SLACK, Outage, database_lost, quiet, slack_lost
from bot.slack.client import RateLimitedWebClient
from bot.store.claims import claim_introduction

log = logging.getLogger(__name__)
Task = tuple[str, Callable[[], int]]  # a name for the logs, and a run that says how much it did


def worker_id() -> str:
    """A node's name: its host, pid and a random part (a container's pid is often 1).
    The host is cut so that `name/NN` fits a 64-character lease owner."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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


class Doorbell:
    """Wakes every worker thread at once; a ring while a thread works is kept for its
    next wait. Built before the worker, so the tasks that ring it can be handed in."""

    def __init__(self, threads: int) -> None:
        self._events = [threading.Event() for _ in range(max(1, threads))]

    def ring(self) -> None:
        for event in self._events:
            event.set()

    def wait(self, index: int, timeout: float) -> None:
        self._events[index].wait(timeout)
        self._events[index].clear()


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: WebClient,
        *,
        tasks: Sequence[Task] = (),
        homes: HomeRefresh | None = None,
        doorbell: Doorbell | None = None,
        poll_seconds: float = 2.0,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        owner: str | None = None,
        threads: int = 1,
    ) -> None:
        """`tasks` run after introductions, in order; `homes` publishes the Homes they
        change (the same publisher the tasks use); `doorbell` is what `wake` rings."""
        self.engine = engine
        self.owner = owner or worker_id()
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.homes = homes or HomeRefresh(engine, client, settings)
        self.tasks = list(tasks)
        self.doorbell = doorbell or Doorbell(threads)
        self._stop = threading.Event()
        self.database, self.slack = Outage("database"), SLACK
        self.heartbeat = Heartbeat(engine, self.owner, self.database)
        self.client = client
        self.runners = [
            IntroductionRunner(
                engine=engine,
                client=client,
                settings=settings,
                owner=self.owner if index == 0 else f"{self.owner}/{index}",  # a lease each
                lease_seconds=lease_seconds,
                homes=self.homes,
                stopping=self._stop,
                heartbeat=self.heartbeat.alive_since,
            )
            for index in range(max(1, threads))
        ]
        self.runner = self.runners[0]
        self._threads: list[threading.Thread] = []
        self._running = 0  # introductions being run by this worker's threads
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Listeners call this after recording work, so it starts at once, not at the next poll."""
        self.doorbell.ring()

    def claim(self, owner: str | None = None) -> int | None:
        """Take the lease of the oldest due introduction, if any (`claim_introduction`)."""
        if not self.heartbeat.fresh():  # our node looks dead to the others: claim nothing
            return None
        with session_scope(self.engine) as session:
            return claim_introduction(
                session, owner=owner or self.owner, lease_seconds=self.lease_seconds, now=utcnow()
            )

    def run_once(self, *, most: int | None = None) -> int:
        """Run due introductions until none is left (or `most` of them), then each
        periodic task once.

        Returns how much work was done; a task's failure is logged and does not stop
        the others.
        """
        count = self.run_introductions(self.runner, most=most)
        if self.slack.lost:
            self._probe_slack()
        if not self.heartbeat.fresh():  # the tasks claim too (`claim`)
            return count
        for name, task in self.tasks:
            try:
                count += task()
            except Exception as exc:
                self._failed(exc, f"task={name} failed; it runs again at the next poll")
        return count

    def _failed(self, exc: Exception, message: str) -> None:
        """An outage is logged once (`bot.outages`); anything else with its traceback.
        The Web API client has already counted a Slack failure; until Slack counts as
        lost, one line says which task met it."""
        if database_lost(exc):
            self.database.failed(exc)
        elif slack_lost(exc):
            if not self._reports_outages:
                self.slack.failed(exc)
            if not quiet(exc):
                log.warning("%s (%s: %s)", message, type(exc).__name__, str(exc)[:200])
        else:
            log.exception(message)

    def _probe_slack(self) -> None:
        """While Slack is lost, one cheap call a poll tells when it is back (the client
        reports its outcome; a plain WebClient's is reported here)."""
        try:
            self.client.api_test()
        except Exception as exc:
            if not slack_lost(exc):
                log.warning("api.test while Slack was lost: %s", exc)
            elif not self._reports_outages:
                self.slack.failed(exc)
            return
        if not self._reports_outages:
            self.slack.answered()

    @property
    def _reports_outages(self) -> bool:
        return isinstance(self.client, RateLimitedWebClient)

    def run_introductions(self, runner: IntroductionRunner, *, most: int | None = None) -> int:
        """Claim and run due introductions until none is left (or `most` are run); Homes
        follow, debounced."""
        count = 0
        while (
            not self._stop.is_set()
            and (most is None or count < most)
            and (intro_id := self.claim(runner.owner)) is not None
        ):
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
        while not self._stop.is_set():
            busy = False
            try:
                if index == 0:  # one introduction, then the tasks; again at once if busy
                    busy = self.run_once(most=1) > 0
                else:
                    self.run_introductions(self.runners[index])
            except Exception as exc:
                self._failed(exc, "worker loop error; going on after a pause")
            if not busy:
                self.doorbell.wait(index, self.poll_seconds)
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
        """The heartbeat, then threads `first`… (`run_all` runs the first itself)."""
        self.heartbeat.start()
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
        self.heartbeat.stop()  # beating until the steps under way have ended
