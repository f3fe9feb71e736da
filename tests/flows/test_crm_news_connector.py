"""CRM news with a connector: every stored HubSpot event is completed from HubSpot's API
before it is acted on, read outside any transaction; an unavailable CRM leaves it pending.

The connector is `tests/crm/hubspot_reader.py`, a small implementation of the
CrmConnector protocol reading the HubSpot fake over HTTP (the real one lives elsewhere).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from bot.crm.inbox import store
from bot.crm.webhooks import InboxItem, read_hubspot
from bot.emulator.hubspot import FakeHubSpot
from bot.flows.crm_news import process_pending
from bot.models import Contact, CrmEvent, Introduction, IntroStatus
from bot.store.deals import get_deal
from tests.crm.hubspot_reader import HubSpotReader

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
CUSTOM_PIPELINE = "75e28846-ad0d-4be2-a027-5e1da6590b98"


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=TOKEN) as server:
        yield server


@pytest.fixture
def deal_id(hub: FakeHubSpot) -> str:
    """A deal at the custom pipeline's "Contract Sent" (numeric id), with its company,
    a contact and one without an email, and an owner."""
    owner = hub.add_owner("alex@ours.example", "Alex", "Account")
    company = hub.add_company("Acme Corp")
    contact = hub.add_contact("cto@acme.example", "Cara", "Cole")
    nameless = hub.add_contact(None, "Nora", "Noemail")
    return hub.add_deal("Acme - platform", stage="137498562", pipeline=CUSTOM_PIPELINE,
                        amount=48000, owner_id=owner, company_ids=[company],
                        contact_ids=[contact, nameless])  # fmt: skip


@pytest.fixture
def reader(hub: FakeHubSpot) -> HubSpotReader:
    return HubSpotReader(hub.url, TOKEN)


@pytest.fixture
def rules(settings):
    return replace(settings, auto_watch=True)


def webhook(engine, events: list[dict]) -> None:
    """Store a delivery as `/crm/hubspot` does once it is verified."""
    with Session(engine) as session:
        store(session, read_hubspot(json.dumps(events).encode()).items)
        session.commit()


def poll_ref(engine, deal_id: str) -> None:
    """What a connector's poll stores for a deal it saw change."""
    with Session(engine) as session:
        store(session, [InboxItem("hubspot", f"hubspot-poll:{deal_id}:1", deal_id,
                                  {"kind": "hubspot_ref", "object_id": deal_id})])  # fmt: skip
        session.commit()


def generic(engine, crm_id: str, stage: str) -> None:
    record = {"crm_id": crm_id, "stage": stage, "company": "Globex"}
    with Session(engine) as session:
        store(session, [InboxItem("webhook", f"webhook:{crm_id}:{stage}", crm_id,
                                  {"kind": "record", "record": record})])  # fmt: skip
        session.commit()


def run(engine, rules, reader) -> int:
    return process_pending(engine, settings=rules, wake=lambda: None,
                           connectors={"hubspot": reader})  # fmt: skip


def events(engine) -> list[CrmEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CrmEvent).order_by(CrmEvent.id)))


def test_a_webhook_event_is_completed_from_the_api_before_it_is_applied(
    engine, rules, hub, deal_id, reader
):
    webhook(engine, [hub.events.deal_property_change(deal_id, "dealstage", "137498562")])
    assert run(engine, rules, reader) == 1
    assert reader.reads == [deal_id]
    with Session(engine) as session:
        deal = get_deal(session, crm_id=deal_id)
        assert (deal.company, deal.owner_email, str(deal.amount)) == (
            "Acme Corp", "alex@ours.example", "48000.00")  # fmt: skip
        assert (deal.stage, deal.stage_id, deal.pipeline, deal.stage_status, deal.probability) == (
            "contractsent", "137498562", CUSTOM_PIPELINE, "open", 0.9)  # fmt: skip
        assert deal.source == "hubspot"
        people = {(c.email, c.first_name) for c in session.exec(select(Contact))}
        assert people == {("cto@acme.example", "Cara"), (None, "Nora")}
        [intro] = session.exec(select(Introduction)).all()
        assert intro.status == IntroStatus.PENDING


def test_a_poll_reference_is_completed_the_same_way(engine, rules, deal_id, reader):
    poll_ref(engine, deal_id)
    assert run(engine, rules, reader) == 1
    with Session(engine) as session:
        assert get_deal(session, crm_id=deal_id).company == "Acme Corp"


def test_the_same_change_by_webhook_and_poll_introduces_once(engine, rules, hub, deal_id, reader):
    webhook(engine, [hub.events.deal_property_change(deal_id, "dealstage", "137498562")])
    poll_ref(engine, deal_id)
    assert run(engine, rules, reader) == 2
    with Session(engine) as session:
        assert len(session.exec(select(Introduction)).all()) == 1


def test_an_event_is_read_for_what_the_deal_is_now_not_what_the_event_said(
    engine, rules, hub, deal_id, reader
):
    """An old `Contract Sent` event arriving after the deal was lost in HubSpot."""
    stale = hub.events.deal_property_change(deal_id, "dealstage", "137498562")
    hub.move_stage(deal_id, "137498564")  # the custom pipeline's closed, lost stage
    webhook(engine, [stale])
    run(engine, rules, reader)
    with Session(engine) as session:
        deal = get_deal(session, crm_id=deal_id)
        assert (deal.stage_status, deal.stage) == ("lost", "lost")
        assert session.exec(select(Introduction)).all() == []


def test_an_unavailable_crm_leaves_its_events_pending_and_the_others_go_on(
    engine, rules, hub, deal_id, reader, caplog
):
    hub.revoke_token(401)
    stage = hub.events.deal_property_change(deal_id, "dealstage", "137498562")
    webhook(engine, [hub.events.deal_creation(deal_id), stage])
    generic(engine, "D-7", "Appointment")
    with caplog.at_level(logging.WARNING, logger="bot.flows.crm_news"):
        assert run(engine, rules, reader) == 1  # the generic one
        assert run(engine, rules, reader) == 0
    assert reader.reads == [deal_id, deal_id]  # asked once a pass, not once an event
    assert [r for r in caplog.records if "unavailable" in r.getMessage()][1:] == []  # said once
    pending = [e for e in events(engine) if e.processed_at is None]
    assert [e.source for e in pending] == ["hubspot", "hubspot"]
    assert all(e.error is None for e in pending)
    hub.restore_token()
    assert run(engine, rules, reader) == 2
    assert all(e.processed_at is not None and e.error is None for e in events(engine))
    with Session(engine) as session:
        assert len(session.exec(select(Introduction)).all()) == 1


def test_a_deal_deleted_in_the_crm_cancels_its_introduction_not_started(
    engine, rules, hub, deal_id, reader
):
    webhook(engine, [hub.events.deal_property_change(deal_id, "dealstage", "137498562")])
    run(engine, rules, reader)
    webhook(engine, [hub.delete_deal(deal_id)])
    run(engine, rules, reader)
    with Session(engine) as session:
        [intro] = session.exec(select(Introduction)).all()
        assert intro.status == IntroStatus.CANCELLED
        assert get_deal(session, crm_id=deal_id).deleted_at is not None


def _other_writer(db_url: str):
    """An engine that gives up on a lock after one second (SQLite's writer lock, a
    PostgreSQL row lock), to show nobody holds one."""
    if db_url.startswith("sqlite"):
        return create_engine(db_url, connect_args={"timeout": 1})
    return create_engine(db_url, connect_args={"options": "-c lock_timeout=1000"})


def test_no_transaction_is_held_while_the_crm_is_read(engine, db_url, rules, hub, deal_id, reader):
    webhook(engine, [hub.events.deal_property_change(deal_id, "dealstage", "137498562")])
    [event] = events(engine)
    reader.hold = threading.Event()
    worker = threading.Thread(target=run, args=(engine, rules, reader))
    worker.start()
    try:
        assert reader.reading.wait(10)
        other = _other_writer(db_url)
        with other.begin() as connection:  # the row the worker will claim, and a new one
            connection.execute(text("UPDATE crmevent SET error = NULL WHERE id = :id"),
                               {"id": event.id})  # fmt: skip
        generic(other, "D-8", "Appointment")
        other.dispose()
        assert events(engine)[0].processed_at is None  # claimed only after the read
    finally:
        reader.hold.set()
        worker.join(20)
    with Session(engine) as session:
        assert get_deal(session, crm_id=deal_id).company == "Acme Corp"
        assert session.get(CrmEvent, event.id).processed_at is not None
