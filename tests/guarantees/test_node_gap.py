"""A node whose heartbeat had a gap (a database outage longer than the silence window)
looks dead to the others until its next beat lands, and may have had its introductions
taken over meanwhile. It claims nothing until it beats again, and a run it had under
way renews its lease at its next step, finding out, instead of trusting a renewal made
before the gap; a run that took over a step another had begun goes on in resumed mode.

CI saw the first two: after a 20-second outage, two threads of one worker ran the same
introduction and one ended on a duplicate step row, leaving it held for 300 seconds.

The gap is the heartbeat's last landed beat moved back by the silence window and the
node row aged to match, which is what an outage leaves (not waited out in real time).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import time_machine
from sqlmodel import Session, select

from bot.config import DEFAULT_LEASE_SECONDS
from bot.models import Introduction, IntroductionStep, IntroStatus, Step, WorkerNode, utcnow
from bot.slack.client import make_client
from bot.store.introductions import start_step
from bot.store.nodes import SILENT_SECONDS
from bot.worker import Worker
from tests.flows.test_crash_resume import assert_exactly_once, queue_introduction
from tests.waiting import wait_for


def gap(engine, worker: Worker) -> None:
    """As after an outage: no beat has landed for the silence window, inside or out."""
    assert worker.heartbeat.last is not None
    worker.heartbeat.last -= SILENT_SECONDS
    with Session(engine) as session:
        node = session.get(WorkerNode, worker.owner)
        assert node is not None
        node.heartbeat_at = utcnow() - timedelta(seconds=SILENT_SECONDS + 1)
        session.add(node)
        session.commit()


def introduction(engine) -> Introduction:
    with Session(engine) as session:
        return session.exec(select(Introduction)).one()


def test_a_node_after_a_gap_claims_nothing_until_its_heartbeat_lands(settings, engine):
    worker = Worker(engine, settings, make_client(settings), threads=2)
    assert worker.heartbeat.beat_once()
    queue_introduction(engine)
    gap(engine, worker)

    assert worker.claim() is None
    assert worker.claim(f"{worker.owner}/1") is None
    assert worker.run_once() == 0

    assert worker.heartbeat.beat_once()  # the database is back
    assert worker.heartbeat.since == worker.heartbeat.last  # a new unbroken run of beats
    assert worker.claim() is not None
    assert worker.claim(f"{worker.owner}/1") is None  # ours, and our node is alive


def test_a_wall_clock_jump_is_a_gap_too(settings, engine):
    """The others judge a node by the wall clock: when it jumps ahead (an NTP step; a
    test's time travel), the node's last beat looks old to every claim at once, its own
    threads' included, until the next beat writes the new time."""
    worker = Worker(engine, settings, make_client(settings), threads=2)
    assert worker.heartbeat.beat_once()
    queue_introduction(engine)
    with time_machine.travel(utcnow() + timedelta(days=5), tick=True):
        assert not worker.heartbeat.fresh() and worker.heartbeat.alive_since() is None
        assert worker.claim() is None
        assert worker.heartbeat.beat_once()
        assert worker.heartbeat.since == worker.heartbeat.last  # a new run of beats
        assert worker.claim() is not None
        assert worker.claim(f"{worker.owner}/1") is None


def test_a_run_that_lost_its_lease_in_a_gap_stops_at_its_next_step(settings, fake, engine):
    """The first worker is mid-topic when the gap comes; the second takes the
    introduction over; the first's beat lands again and its call returns. Trusting its
    renewal from before the gap, it would post the welcome beside the second."""
    queue_introduction(engine)
    first = Worker(engine, settings, make_client(settings), lease_seconds=DEFAULT_LEASE_SECONDS)
    second = Worker(engine, settings, make_client(settings), lease_seconds=DEFAULT_LEASE_SECONDS)
    assert first.heartbeat.beat_once() and second.heartbeat.beat_once()
    release = fake.hang("conversations.setTopic")
    running = threading.Thread(
        target=first.run_introductions, args=(first.runner,), kwargs={"most": 1}
    )
    running.start()
    try:
        wait_for(lambda: bool(fake.calls_to("conversations.setTopic")))
        gap(engine, first)
        assert second.claim() is not None  # the first looks dead: taken over
        assert first.heartbeat.beat_once()  # back, and alive from now on
        release.set()
        running.join(30)
        assert not running.is_alive()
        fake.clear_faults()
        assert introduction(engine).lease_owner == second.owner
        assert not fake.calls_to("chat.postMessage")  # the first stopped before the welcome
        second.runner.run(introduction(engine).id)
    finally:
        fake.release_all()
        running.join(30)

    assert_exactly_once(fake, introduction(engine))


def test_a_step_begun_by_the_run_taken_over_from_is_started_once(settings, engine):
    """A run that took over after reading the steps, and then finds the step row of the
    run it took over from, is told so (and goes on in resumed mode) instead of failing
    on the unique constraint."""
    queue_introduction(engine)
    worker = Worker(engine, settings, make_client(settings))
    intro_id = worker.claim()
    assert intro_id is not None
    with Session(engine) as session:
        assert start_step(session, intro_id=intro_id, step=Step.CHANNEL)
        assert not start_step(session, intro_id=intro_id, step=Step.CHANNEL)
        session.commit()
        rows = session.exec(select(IntroductionStep).where(IntroductionStep.step == Step.CHANNEL))
        assert len(rows.all()) == 1


def test_an_unexpected_error_frees_the_introduction_for_a_later_try(settings, fake, engine):
    """A Slack answer of a shape nobody expected (a 200 with no channel in it) is a bug
    to log, not a reason to hold the introduction until its lease runs out: it is
    tried again after a pause, costing an attempt, and then finishes."""
    queue_introduction(engine)
    fake.answer_next("conversations.create", {"ok": True})
    worker = Worker(engine, settings, make_client(settings), lease_seconds=DEFAULT_LEASE_SECONDS)
    assert worker.run_once() == 1

    intro = introduction(engine)
    assert intro.status == IntroStatus.RUNNING
    assert intro.lease_owner is None and intro.lease_until is None
    assert intro.attempts == 1 and intro.next_attempt_at is not None
    assert intro.last_error and "unexpected error" in intro.last_error
    assert worker.claim() is None  # not before its pause

    with Session(engine) as session:
        row = session.get(Introduction, intro.id)
        assert row is not None
        row.next_attempt_at = utcnow()
        session.add(row)
        session.commit()
    assert worker.run_once() == 1
    assert_exactly_once(fake, introduction(engine))
