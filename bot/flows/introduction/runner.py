"""The step loop: each step of `STEP_TABLE` in order, recorded started and done, passing
faults retried, and the end of a run (done, handed back, retried later, failed)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.config import DEFAULT_LEASE_SECONDS, Settings
from bot.exceptions import SlackStepError, UserError
from bot.flows import writeback
from bot.flows.home import HomeRefresh
from bot.flows.introduction.channel import channel_step, invite_step, topic_step
from bot.flows.introduction.connect import connect_step, invite_next
from bot.flows.introduction.context import StepContext, StepFn
from bot.flows.introduction.lease import Heartbeat, Lease, LeaseLost
from bot.flows.introduction.messages import brief_step, notify_ae_step, welcome_step
from bot.flows.introduction.people import People, prepare_step
from bot.models import STEPS, Introduction, IntroStatus, Step, utcnow
from bot.outages import database_lost, log_failure, quiet
from bot.slack.client import send_dm
from bot.store.introductions import (
    ERROR_LIMIT,
    introduction_and_deal,
    record_step_done,
    start_step,
    steps_of,
)
from bot.templating import has_phrase, phrase, render_internal

log = logging.getLogger(__name__)

# Each step, by name: the order they run in is `STEPS` (bot.models).
STEP_TABLE: dict[Step, StepFn] = {
    Step.PREPARE: prepare_step,
    Step.CHANNEL: channel_step,
    Step.INVITE: invite_step,
    Step.TOPIC: topic_step,
    Step.WELCOME: welcome_step,
    Step.CONNECT: connect_step,
    Step.BRIEF: brief_step,
    Step.NOTIFY_AE: notify_ae_step,
}
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY_SECONDS = 300  # the wait doubles after each attempt, up to this
QUICK_RETRY_DELAYS = (0.2, 1.0, 3.0)


class Done(NamedTuple):
    """A step that has acted, waiting to be recorded with the next transaction."""

    step: Step
    detail: str


@dataclass
class IntroductionRunner:
    """Runs introductions for one worker identity (`owner`).

    A run spans many short transactions with Slack calls between them, so it holds an
    engine (and, while it runs, one connection) and opens its own sessions.
    """

    engine: Engine
    client: WebClient
    settings: Settings
    owner: str
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    homes: HomeRefresh | None = None  # told whose Home an introduction changed
    stopping: threading.Event | None = None  # set: hand introductions back between steps
    heartbeat: Heartbeat | None = None  # the worker node's last beat (`Lease.heartbeat`)
    lease: Lease = field(init=False)
    context: StepContext = field(init=False)

    def __post_init__(self) -> None:
        self.lease = Lease(self.engine, self.owner, self.lease_seconds, self.heartbeat)
        self.context = StepContext(self.client, self.settings, self.lease, People(self.client))

    def run(self, intro_id: int) -> None:
        """Run every step not yet done, in order; failures are recorded, never raised.

        If the database drops the run's connection (a restart, a failover), the run goes
        on once with a new one, in resumed mode, instead of stalling until its lease
        runs out. Anything else unexpected is tried again later (`_on_unexpected`).
        """
        for attempt in (1, 2):
            try:
                with self.lease.connection():
                    self._run(intro_id)
                return
            except Exception as exc:
                if not database_lost(exc):
                    self._on_unexpected(intro_id, exc)
                    return
                dropped = isinstance(exc, DBAPIError) and exc.connection_invalidated
                if not dropped or attempt == 2:
                    raise  # the worker logs the outage once; the lease frees itself
                log.warning("intro_id=%s database connection lost; going on", intro_id)

    def invite_next_contacts(self, intro_id: int) -> str:
        """Invite waiting contacts one at a time: Slack allows one pending invitation per
        channel, so the rest wait until it is accepted."""
        return invite_next(self.context, *self.context.load(intro_id))

    def _run(self, intro_id: int) -> None:
        try:
            with self.context.session() as session:  # ours while we hold the lease
                steps = {s: row.done_at is not None for s, row in steps_of(
                    session, intro_id=intro_id).items()}  # fmt: skip
            done: Done | None = None
            for step in STEPS:
                if self.stopping is not None and self.stopping.is_set():
                    self._hand_back(intro_id, done)
                    return
                done = self._run_step(intro_id, step, done, steps)
            self._finish(intro_id, done)
        except LeaseLost:
            log.warning("intro_id=%s lease lost; another worker goes on with it", intro_id)
        except UserError as exc:
            self._fail(intro_id, exc.message)
        except SlackStepError as exc:
            self._on_slack_error(intro_id, exc)

    def _run_step(
        self, intro_id: int, step: Step, done: Done | None, steps: dict[Step, bool]
    ) -> Done | None:
        """Run a step; a passing fault (5xx, dropped connection) is retried at once, a few
        times, in resumed mode, before the whole introduction is rescheduled.

        `done` is the previous step's result, recorded in this step's first transaction
        (one commit per step instead of two); the result of this one is returned for the
        next. A crash in between leaves the step started, not done, so it is run again in
        resumed mode, which looks at Slack before acting: nothing is repeated. `steps`
        (started steps: done or not) is read once per run; while the lease is ours, no
        one else writes them.
        """
        for delay in QUICK_RETRY_DELAYS:
            try:
                return self._run_step_once(intro_id, step, done, steps)
            except SlackStepError as exc:
                done = None  # the attempt's first transaction recorded it
                if exc.permanent:
                    raise
                log.info("intro_id=%s step=%s retrying after %s", intro_id, step, exc.error)
                time.sleep(delay)
        return self._run_step_once(intro_id, step, done, steps)  # the last try: errors stand

    def _run_step_once(
        self, intro_id: int, step: Step, done: Done | None, steps: dict[Step, bool]
    ) -> Done | None:
        if steps.get(step):  # done in an earlier run
            if done is not None:
                with self.context.session() as session:
                    _record(session, intro_id, done)
            return None
        resumed = step in steps
        with self.context.session() as session:
            if done is not None:
                _record(session, intro_id, done)
            self.lease.hold(session, intro_id)
            if not resumed:  # begun by a run we took over from since we read: look first
                resumed = not start_step(session, intro_id=intro_id, step=step)
            # as the previous step left them
            intro, deal = introduction_and_deal(session, intro_id=intro_id)
        steps[step] = False
        detail = STEP_TABLE[step](self.context, intro, deal, resumed=resumed)
        log.info("intro_id=%s step=%s done resumed=%s", intro_id, step, resumed)
        return Done(step, detail or "")

    # --- the end of a run ----------------------------------------------------------------

    def _finish(self, intro_id: int, done: Done | None) -> None:
        with self.context.session() as session:
            if done is not None:
                _record(session, intro_id, done)
            intro = session.get(Introduction, intro_id)
            assert intro is not None
            people = (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id)
            released = self.lease.release(
                session, intro_id, status=IntroStatus.DONE, last_error=None, finished_at=utcnow()
            )
            if not released:  # another worker took over: it records the end
                raise LeaseLost
            writeback.queue_for(session, intro=intro, settings=self.settings)  # same commit
        log.info("intro_id=%s done", intro_id)
        if self.homes is not None:
            self.homes.mark(people)  # published by the worker, debounced

    def _hand_back(self, intro_id: int, done: Done | None) -> None:
        """The process is stopping (a deploy's SIGTERM): record what is done and free the
        lease, so the next worker goes on at once instead of when the lease runs out."""
        with self.context.session() as session:
            if done is not None:
                _record(session, intro_id, done)
            self.lease.release(session, intro_id)
        log.info("intro_id=%s handed back: this worker is stopping", intro_id)

    def _on_slack_error(self, intro_id: int, exc: SlackStepError) -> None:
        """A permanent error fails the introduction; a passing one tries it again later,
        waiting longer each time, until MAX_ATTEMPTS. While Slack is lost (`bot.outages`)
        a failure costs no attempt: a long outage must not fail what it only delayed."""
        reason = phrase("introduction.step_failed", step=exc.step, reason=slack_reason(exc.error))
        if exc.permanent:
            self._fail(intro_id, reason)
        elif self._try_later(intro_id, reason, counted=not quiet(exc)):
            log_failure(log, exc, "intro_id=%s transient failure, retrying: %s", intro_id, reason)

    def _on_unexpected(self, intro_id: int, exc: Exception) -> None:
        """A bug or a surprise (an answer of a shape we did not expect): logged with its
        traceback and tried again later like a passing Slack error, costing an attempt,
        instead of leaving the introduction held until its lease runs out."""
        log.exception("intro_id=%s failed unexpectedly; trying again later", intro_id)
        self._try_later(intro_id, phrase("introduction.unexpected", error=type(exc).__name__))

    def _try_later(self, intro_id: int, reason: str, *, counted: bool = True) -> bool:
        """Free the introduction for another try after a pause that doubles with each
        attempt; once MAX_ATTEMPTS are used, fail it instead (and return False)."""
        with self.context.session() as session:
            intro = session.get(Introduction, intro_id)
            assert intro is not None
            attempts = intro.attempts + (1 if counted else 0)
            if attempts < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(2 ** max(1, attempts), MAX_RETRY_DELAY_SECONDS))
                self.lease.release(session, intro_id, attempts=attempts, last_error=reason,
                                   next_attempt_at=utcnow() + delay)  # fmt: skip
                return True
        self._fail(intro_id, phrase("introduction.gave_up", reason=reason, attempts=MAX_ATTEMPTS))
        return False

    def _fail(self, intro_id: int, reason: str) -> None:
        """Tell the AE, then record the failure: once it shows as failed, they know."""
        log.error("intro_id=%s failed: %s", intro_id, reason)
        intro, deal = self.context.load(intro_id)
        person = intro.ae_user_id or intro.requested_by or deal.registered_by
        if person:
            message = render_internal(
                "internal/ae_failed.j2", deal=deal, reason=reason, channel_id=intro.channel_id
            )
            try:
                send_dm("notify", self.client, person, text=message.text, blocks=message.blocks)
            except SlackStepError as exc:
                log_failure(log, exc, "intro_id=%s could not tell %s of the failure: %s",
                            intro_id, person, exc, level=logging.ERROR)  # fmt: skip
        with self.context.session() as session:
            self.lease.release(
                session,
                intro_id,
                status=IntroStatus.FAILED,
                last_error=reason[:ERROR_LIMIT],
                finished_at=utcnow(),
            )


def slack_reason(error: str) -> str:
    """What a person should know about a Slack error that stops an introduction."""
    key = f"slack_errors.{error}"
    return phrase(key) if has_phrase(key) else error


def _record(session: Session, intro_id: int, done: Done) -> None:
    record_step_done(session, intro_id=intro_id, step=done.step, detail=done.detail)
