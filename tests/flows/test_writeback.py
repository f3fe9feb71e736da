"""The CRM write-back: one HubSpot note per finished introduction, whatever crashes.

A real introduction runs in a real worker (FakeSlack and FakeHubSpot behind it); the
note is read back from the fake. The crash between HubSpot creating the note and the
worker recording it is made twice: the answer dropped after the effect, and a real
worker process SIGKILLed while the answer is late.
"""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from bot.crm.hubspot import HubSpotConnector
from bot.emulator.hubspot import FakeHubSpot
from bot.flows.writeback import WritebackTask, marker, queue_for
from bot.models import CrmWriteback, Introduction, IntroStatus
from bot.runtime import build_runtime
from bot.slack.client import make_client
from bot.store import writebacks
from bot.store.introductions import request_introduction
from tests.factories import make_deal, make_member
from tests.processes import free_port

HS_TOKEN = "pat-na1-99999999-8888-7777-6666-555555555555"


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=HS_TOKEN, rate_limits=True) as server:
        yield server


@pytest.fixture
def hs_settings(settings, hub):
    return replace(
        settings, hubspot_access_token=HS_TOKEN, hubspot_api_url=hub.url, crm_poll_seconds=1
    )


def queue_hubspot_introduction(engine, hub: FakeHubSpot) -> str:
    """A HubSpot deal, known to the bot, whose introduction is requested."""
    deal_id = hub.add_deal("Acme Corp - platform", stage="contractsent")
    make_member(engine)
    deal = make_deal(
        engine, deal_id, source="hubspot", engineer_user_id="U_ENG", contacts=["cto@acme.example"]
    )
    with Session(engine) as session:
        request_introduction(session, deal=session.merge(deal), source="now", requested_by="U_AE")
        session.commit()
    return deal_id


def writeback_row(engine) -> CrmWriteback | None:
    with Session(engine) as session:
        return session.exec(select(CrmWriteback)).first()


def intro_of(engine) -> Introduction:
    with Session(engine) as session:
        return session.exec(select(Introduction)).one()


def run_worker_until(settings, predicate, timeout: float = 30) -> None:
    runtime = build_runtime(settings, with_worker=True)
    assert runtime.worker is not None
    runtime.worker.start()
    try:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)
    finally:
        runtime.worker.stop()
        runtime.engine.dispose()


def written(engine) -> bool:
    row = writeback_row(engine)
    return row is not None and row.state in ("done", "failed")


def test_a_done_introduction_writes_one_note_on_the_deal(hs_settings, fake, hub, engine):
    deal_id = queue_hubspot_introduction(engine, hub)
    run_worker_until(hs_settings, lambda: written(engine))

    intro = intro_of(engine)
    assert intro.status == IntroStatus.DONE
    [note] = hub.notes_for_deal(deal_id)
    row = writeback_row(engine)
    assert row is not None and (row.state, row.external_id, row.crm) == (
        "done",
        note["id"],
        "hubspot",
    )
    body = note["properties"]["hs_note_body"]
    assert "Erin Engineer" in body and "Sam Backup" in body
    assert f'href="https://slack.com/app_redirect?channel={intro.channel_id}"' in body
    assert "cto@acme.example" in html.unescape(body)
    assert marker(intro.id, deal_id) in body
    assert note["properties"]["hs_timestamp"]
    assert len(hub.notes()) == 1


def test_the_names_on_the_notes_are_asked_of_slack_once_per_person(hs_settings, fake, hub, engine):
    """Two notes signed by the same engineer and backup: one users.info for each person
    (bench/hubspot_introductions.py: two per note were half the run's users.info)."""
    make_member(engine)
    deal_ids = [hub.add_deal(f"{name} - platform", stage="contractsent") for name in ("A", "B")]
    with Session(engine) as session:
        for deal_id, company in zip(deal_ids, ("Acme Corp", "Globex"), strict=True):
            deal = make_deal(
                engine,
                deal_id,
                company=company,
                source="hubspot",
                engineer_user_id="U_ENG",
                contacts=[f"cto@{deal_id}.example"],
            )
            request_introduction(session, deal=session.merge(deal), source="now",
                                 requested_by="U_AE")  # fmt: skip
        session.commit()
    no_writeback = replace(hs_settings, crm_writeback=False)
    run_worker_until(no_writeback, lambda: all_done(engine, 2))
    with Session(engine) as session:
        for intro, deal_id in zip(session.exec(select(Introduction).order_by(Introduction.id)),
                                  deal_ids, strict=True):  # fmt: skip
            writebacks.queue_writeback(session, introduction_id=intro.id, crm="hubspot",
                                       crm_deal_id=deal_id, now=intro.created_at)  # fmt: skip
        session.commit()
    fake.reset_calls()
    connector = HubSpotConnector(token=HS_TOKEN, base_url=hub.url, engine=engine)
    task = WritebackTask(engine, make_client(hs_settings), {"hubspot": connector}, owner="w1",
                         lease_seconds=30)  # fmt: skip
    assert task() == 2
    for deal_id in deal_ids:
        [note] = hub.notes_for_deal(deal_id)
        body = note["properties"]["hs_note_body"]
        assert "Erin Engineer" in body and "Sam Backup" in body
    asked = sorted(c.args.get("user") for c in fake.calls_to("users.info"))
    assert len(asked) == 2 and len(set(asked)) == 2, asked


def all_done(engine, count: int) -> bool:
    with Session(engine) as session:
        intros = session.exec(select(Introduction)).all()
    return len(intros) == count and all(i.status == IntroStatus.DONE for i in intros)


def test_values_are_escaped_for_html(hs_settings, fake, hub, engine):
    deal_id = queue_hubspot_introduction(engine, hub)
    make_deal(engine, deal_id, company="<b>Acme</b> & Sons")
    run_worker_until(hs_settings, lambda: written(engine))
    body = hub.notes_for_deal(deal_id)[0]["properties"]["hs_note_body"]
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; Sons" in body and "<b>Acme" not in body


def test_writeback_off_queues_nothing(hs_settings, fake, hub, engine):
    queue_hubspot_introduction(engine, hub)
    off = replace(hs_settings, crm_writeback=False)
    run_worker_until(off, lambda: intro_of(engine).status == IntroStatus.DONE)
    time.sleep(0.3)
    assert writeback_row(engine) is None and hub.notes() == []


def test_a_deal_from_no_connector_queues_nothing(hs_settings, engine, session):
    make_member(engine)
    deal = make_deal(engine, "D-1", source="slack")
    intro, _ = request_introduction(session, deal=session.merge(deal), source="now",
                                    requested_by="U_AE")  # fmt: skip
    session.commit()
    assert not queue_for(session, intro=intro, settings=hs_settings)
    no_token = replace(hs_settings, hubspot_access_token="")
    make_deal(engine, "D-1", source="hubspot")
    session.expire_all()
    assert not queue_for(session, intro=intro, settings=no_token)
    assert queue_for(session, intro=intro, settings=hs_settings)
    assert not queue_for(session, intro=intro, settings=hs_settings)  # once per introduction


def test_an_answer_lost_after_the_note_was_made_records_it_without_a_second(
    hs_settings, fake, hub, engine
):
    deal_id = queue_hubspot_introduction(engine, hub)
    hub.drop_next("POST /crm/v3/objects/notes", after_effect=True)
    run_worker_until(hs_settings, lambda: written(engine))

    [note] = hub.notes_for_deal(deal_id)
    row = writeback_row(engine)
    assert row is not None and (row.state, row.external_id, row.attempts) == ("done", note["id"], 2)
    assert len(hub.calls_to("POST /crm/v3/objects/notes")) == 1


def test_a_revoked_token_pauses_the_writeback_until_it_works(hs_settings, fake, hub, engine):
    deal_id = queue_hubspot_introduction(engine, hub)
    hub.revoke_token(403)
    run_worker_until(hs_settings, lambda: (writeback_row(engine) or CrmWriteback(
        introduction_id=0, crm="", crm_deal_id="")).last_error is not None)  # fmt: skip
    row = writeback_row(engine)
    assert row is not None and row.state == "pending" and row.attempts == 0
    assert "HubSpot refused the access token" in (row.last_error or "")

    hub.restore_token()
    run_worker_until(hs_settings, lambda: written(engine))
    assert len(hub.notes_for_deal(deal_id)) == 1
    assert writeback_row(engine).state == "done"  # type: ignore[union-attr]


def test_a_writeback_that_keeps_failing_gives_up_with_the_reason(settings, fake, hub, engine):
    deal_id = queue_hubspot_introduction(engine, hub)
    with Session(engine) as session:
        intro = session.exec(select(Introduction)).one()
        writebacks.queue_writeback(session, introduction_id=intro.id, crm="hubspot",
                                   crm_deal_id=deal_id, now=intro.created_at)  # fmt: skip
        session.commit()
    hub.fail_next("POST /crm/v3/objects/notes", 500, count=100)
    connector = HubSpotConnector(token=HS_TOKEN, base_url=hub.url, engine=engine)
    task = WritebackTask(engine, make_client(settings), {"hubspot": connector}, owner="w1",
                         lease_seconds=30, retry_seconds=0)  # fmt: skip
    for _ in range(writebacks.MAX_ATTEMPTS):
        assert task() == 0
    row = writeback_row(engine)
    assert row is not None and (row.state, row.attempts) == ("failed", writebacks.MAX_ATTEMPTS)
    assert "HTTP 500" in (row.last_error or "")
    assert task() == 0 and len(hub.calls_to("POST /crm/v3/objects/notes")) == 8


@pytest.mark.slow
def test_a_worker_killed_after_the_note_was_made_leaves_one_note(hs_settings, fake, hub, engine):
    """SIGKILL while HubSpot has made the note and its answer is still on its way."""
    deal_id = queue_hubspot_introduction(engine, hub)
    hub.answer_late("POST /crm/v3/objects/notes", 5.0)
    worker = start_hubspot_worker(hs_settings)
    try:
        deadline = time.monotonic() + 60
        while not hub.notes():
            assert time.monotonic() < deadline and worker.poll() is None, "no note was made"
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    hub.clear_faults()
    row = writeback_row(engine)
    assert row is not None and row.state == "pending" and row.external_id is None

    run_worker_until(replace(hs_settings, lease_seconds=1), lambda: written(engine))
    [note] = hub.notes_for_deal(deal_id)
    row = writeback_row(engine)
    assert row is not None and (row.state, row.external_id) == ("done", note["id"])
    assert row.attempts == 2  # the resumed attempt found the note instead of making one
    assert len(hub.notes()) == 1 and len(hub.calls_to("POST /crm/v3/objects/notes")) == 1


def start_hubspot_worker(settings) -> subprocess.Popen:
    env = os.environ | {
        "SLACK_SIGNING_SECRET": "s3cret-signing",
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "HUBSPOT_ACCESS_TOKEN": settings.hubspot_access_token,
        "HUBSPOT_API_URL": settings.hubspot_api_url,
        "CARE_CRM_POLL_SECONDS": "5",
        "CARE_LEASE_SECONDS": "1",
        "CARE_POLL_MS": "100",
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "WARNING",
        "PORT": str(free_port()),
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env)
