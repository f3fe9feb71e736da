"""A worker killed without stopping (SIGKILL: out of memory, a lost host) holds nothing
for long: with the default 300-second lease, the restarted process or a second live
worker resumes its introduction within 15 seconds, with nothing done twice; a live
worker's slow step is never taken from it."""

from __future__ import annotations

import signal
import time

import pytest
from sqlmodel import Session, select

from bot.config import DEFAULT_LEASE_SECONDS
from bot.models import Introduction, IntroductionStep, IntroStatus
from tests.flows.test_crash_resume import (
    assert_exactly_once,
    queue_introduction,
    start_worker,
    step_done,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.slow
RECOVERY_SECONDS = 15


def introduction(engine) -> Introduction:
    with Session(engine) as session:
        return session.exec(select(Introduction)).one()


def topic_done_at(engine) -> float | None:
    """Seconds since the epoch at which the topic step was recorded done, if it was."""
    with Session(engine) as session:
        row = session.exec(select(IntroductionStep).where(IntroductionStep.step == "topic")).first()
        return row.done_at.timestamp() if row and row.done_at else None


def kill_mid_topic(settings, fake, engine):
    """A worker (default lease) killed while Slack has set the topic and not answered."""
    queue_introduction(engine)
    fake.hang("conversations.setTopic", after_effect=True)
    worker = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    try:
        wait_for(lambda: bool(fake.calls_to("conversations.setTopic")))
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed = time.time()
    fake.release_all()
    fake.clear_faults()
    return killed


def finish(engine, workers, killed: float) -> float:
    """Wait for the introduction to end; the seconds from the kill to its next step."""
    try:
        wait_for(lambda: introduction(engine).status != IntroStatus.RUNNING, timeout=40)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(30) == 0
    done_at = topic_done_at(engine)
    assert done_at is not None
    return done_at - killed


def test_a_restarted_process_resumes_within_15_seconds(settings, fake, engine):
    killed = kill_mid_topic(settings, fake, engine)
    restarted = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    took = finish(engine, [restarted], killed)

    print(f"recovered in {took:.1f} s")
    assert took < RECOVERY_SECONDS, took
    assert_exactly_once(fake, introduction(engine))


def test_a_second_live_worker_resumes_within_15_seconds(settings, fake, engine):
    queue_introduction(engine)
    fake.hang("conversations.setTopic", after_effect=True)
    first = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    wait_for(lambda: bool(fake.calls_to("conversations.setTopic")))
    second = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    time.sleep(1)  # the second is up and polling
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed = time.time()
    fake.release_all()
    fake.clear_faults()
    took = finish(engine, [second], killed)

    print(f"recovered in {took:.1f} s")
    assert took < RECOVERY_SECONDS, took
    assert_exactly_once(fake, introduction(engine))


def test_a_live_workers_slow_step_is_not_taken_from_it(settings, fake, engine):
    """A Slack call slower than the silence window: the heartbeat, on its own thread,
    keeps the node alive, so the other worker never starts the step a second time."""
    queue_introduction(engine)
    release = fake.hang("conversations.setTopic")
    first = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    wait_for(lambda: bool(fake.calls_to("conversations.setTopic")))
    second = start_worker(settings, lease_seconds=DEFAULT_LEASE_SECONDS)
    time.sleep(12)  # past the 8 s a silent node is given
    assert len(fake.calls_to("conversations.setTopic")) == 1
    release.set()
    fake.clear_faults()
    finish(engine, [first, second], time.time())

    assert step_done(engine, "notify_ae")
    assert len(fake.calls_to("conversations.setTopic")) == 1
    assert_exactly_once(fake, introduction(engine))
