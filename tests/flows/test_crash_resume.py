"""A worker killed mid-introduction leaves work that the next one finishes, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from bot.models import Introduction, IntroductionStep, IntroStatus
from bot.runtime import build_runtime
from bot.store.introductions import request_introduction
from tests.factories import make_deal, make_member
from tests.processes import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def start_worker(settings, *, lease_seconds: int = 1, serve: bool = False) -> subprocess.Popen:
    """`careintro worker`, or with `serve` the web server with its in-process worker."""
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "s3cret-signing",
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "CARE_LEASE_SECONDS": str(lease_seconds),
        "CARE_POLL_MS": "100",
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "WARNING",
    }
    command = ["serve", "--port", str(free_port())] if serve else ["worker"]
    return subprocess.Popen([sys.executable, "-m", "bot", *command], env=env)


def queue_introduction(engine) -> None:
    make_member(engine)
    deal = make_deal(engine, "D-1", engineer_user_id="U_ENG", contacts=["cto@acme.example"])
    with Session(engine) as session:
        request_introduction(session, deal=session.merge(deal), source="now", requested_by="U_AE")
        session.commit()


def step_done(engine, step: str) -> bool:
    with Session(engine) as session:
        row = session.exec(select(IntroductionStep).where(IntroductionStep.step == step)).first()
        return bool(row and row.done_at)


def finish_with_new_worker(settings, engine) -> Introduction:
    """Another worker (in this process, a lease owner of its own) takes over once the
    killed one's lease has run out, and finishes."""
    runtime = build_runtime(replace(settings, lease_seconds=1), with_worker=True)
    assert runtime.worker is not None
    runtime.worker.start()
    try:

        def finished() -> bool:
            with Session(engine) as session:
                intro = session.exec(select(Introduction)).one()
                return intro.status in (IntroStatus.DONE, IntroStatus.FAILED)

        wait_for(finished)
    finally:
        runtime.worker.stop()
        runtime.engine.dispose()
    with Session(engine) as session:
        return session.exec(select(Introduction)).one()


def assert_exactly_once(fake, intro: Introduction) -> None:
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert len([c for c in fake.channels.values() if c.name.startswith("care-acme-corp")]) == 1
    assert len(fake.messages(intro.channel_id)) == 1
    assert len(fake.shared_invites) == 1
    assert len(fake.dm_messages("U_ENG")) == 1
    assert len(fake.dm_messages("U_AE")) == 1


def test_killed_after_step_one_resumes_with_one_channel(settings, fake, engine):
    queue_introduction(engine)
    release = fake.hang("conversations.invite")
    worker = start_worker(settings)
    wait_for(lambda: step_done(engine, "channel"))
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    release.set()
    fake.clear_faults()

    intro = finish_with_new_worker(settings, engine)
    assert_exactly_once(fake, intro)


def test_killed_between_creating_the_channel_and_recording_it_adopts_it(settings, fake, engine):
    queue_introduction(engine)
    fake.hang("conversations.create", after_effect=True)
    worker = start_worker(settings)
    wait_for(lambda: fake.channel_by_name("care-acme-corp") is not None)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    fake.release_all()
    fake.clear_faults()

    intro = finish_with_new_worker(settings, engine)
    assert_exactly_once(fake, intro)
    assert fake.channels[intro.channel_id].name == "care-acme-corp"


def test_killed_after_posting_the_welcome_posts_no_second(settings, fake, engine):
    queue_introduction(engine)
    fake.hang("chat.postMessage", after_effect=True)  # posted; the answer never arrives
    worker = start_worker(settings)
    wait_for(lambda: any(fake.messages(c) for c in fake.channels))
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    fake.release_all()
    fake.clear_faults()

    intro = finish_with_new_worker(settings, engine)
    assert_exactly_once(fake, intro)
    assert intro.welcome_ts in fake.channels[intro.channel_id].pins


@pytest.mark.parametrize("serve", [False, True], ids=["worker", "serve"])
def test_stopped_by_sigterm_hands_the_introduction_back_at_once(settings, fake, engine, serve):
    """A deploy's SIGTERM: the step under way ends, the lease is freed (not left to run
    out), and the next worker finishes the introduction, once."""
    queue_introduction(engine)
    release = fake.hang("conversations.setTopic")
    worker = start_worker(settings, lease_seconds=600, serve=serve)  # longer than the test
    wait_for(lambda: step_done(engine, "invite") and bool(fake.calls_to("conversations.setTopic")))
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the signal is in; the step is still waiting on Slack
    release.set()
    assert worker.wait(20) == 0
    fake.clear_faults()
    with Session(engine) as session:
        intro = session.exec(select(Introduction)).one()
    assert intro.status == IntroStatus.RUNNING and intro.lease_until is None
    assert step_done(engine, "topic") and not step_done(engine, "welcome")

    intro = finish_with_new_worker(settings, engine)
    assert_exactly_once(fake, intro)
    assert len(fake.calls_to("conversations.setTopic")) == 1
