"""The CRM webhooks: signed, validated, stored before the answer, applied once."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from bot.crm.inbox import store
from bot.crm.webhooks import InboxItem
from bot.models import CrmEvent, Deal, Introduction, IntroStatus, StageChange, utcnow
from bot.slack.client import make_client
from bot.slack.requests import post
from bot.store.introductions import request_introduction
from bot.worker import Worker
from tests.crm.conftest import generic_headers, send_generic, send_hubspot
from tests.factories import make_deal, make_member

CONTRACT_SENT = {
    "deal_id": "D-42", "stage": "Contract Sent", "company": "Acme Corp", "amount": 48000,
    "close_date": "2026-12-15", "owner_email": "alex@ours.example",
    "contacts": ["cto@acme.example"], "engineer_email": "erin@ours.example",
}  # fmt: skip


def effects(fake) -> list:
    """Calls that change something a person sees, leaving out App Home refreshes."""
    return [c for c in fake.calls if c.method != "views.publish"]


def watched(bot, crm_id: str = "D-42", company: str = "") -> None:
    make_member(bot.engine)
    make_deal(bot.engine, crm_id, company=company, watched=True)


def applied(bot, timeout: float = 15) -> None:
    """Until the worker has applied every stored CRM event (a webhook only stores it)."""
    deadline = time.monotonic() + timeout
    while any(e.processed_at is None for e in rows(bot, CrmEvent)):
        assert time.monotonic() < deadline, "CRM events still waiting"
        time.sleep(0.05)


def rows(bot, model):
    with Session(bot.engine) as session:
        return session.exec(select(model)).all()


def test_watched_deal_reaching_contract_sent_is_introduced_once(crm_bot, fake):
    bot = crm_bot()
    watched(bot)
    for _ in range(5):
        status, answer = send_generic(bot, CONTRACT_SENT)
        assert status == 200 and answer["ok"]
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert intro.ae_user_id == "U_AE"  # owner_email matched with users.lookupByEmail
    assert fake.channel_by_name("care-acme-corp") is not None
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(rows(bot, CrmEvent)) == 1
    [change] = rows(bot, StageChange)
    assert (change.to_stage, change.source) == ("contractsent", "webhook")


def test_hubspot_stage_change_introduces_once(crm_bot, fake):
    bot = crm_bot()
    # A HubSpot event carries ids only: the company comes from `watch` (or the connector).
    watched(bot, "9001", company="Acme Corp")
    event = {"eventId": 1, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1767225600000,
             "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": 9001,
             "propertyName": "dealstage", "propertyValue": "contractsent"}  # fmt: skip
    for attempt in range(3):  # HubSpot retries; eventId is not unique, so vary it
        status, answer = send_hubspot(bot, [event | {"eventId": 100 + attempt}])
        assert status == 200, answer
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(rows(bot, CrmEvent)) == 1


def test_hubspot_signature_uses_public_url_when_set(crm_bot, fake):
    bot = crm_bot(public_url="https://careintro.example")
    body = '[{"subscriptionType": "deal.creation", "objectId": 5, "occurredAt": 1}]'
    from tests.crm.conftest import hubspot_headers

    good = hubspot_headers("https://careintro.example/crm/hubspot", body)
    assert post(f"{bot.url}/crm/hubspot", body, good)[0] == 200
    wrong = hubspot_headers(f"{bot.url}/crm/hubspot", body)
    assert post(f"{bot.url}/crm/hubspot", body, wrong)[0] == 401


def test_unwatched_deal_is_stored_but_not_introduced(crm_bot, fake):
    bot = crm_bot()
    make_member(bot.engine)
    send_generic(bot, CONTRACT_SENT)
    applied(bot)
    bot.wait_idle()
    [deal] = rows(bot, Deal)
    assert (deal.stage, deal.company, deal.watched) == ("contractsent", "Acme Corp", False)
    assert rows(bot, Introduction) == []
    assert fake.calls_to("conversations.create") == []


def test_auto_watch_all_introduces_every_reported_deal(crm_bot, fake):
    bot = crm_bot(auto_watch=True)
    make_member(bot.engine)
    send_generic(bot, CONTRACT_SENT)
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error


def test_lost_before_the_worker_started_cancels(crm_bot, make_bot, fake, settings):
    web_only = crm_bot()
    web_only.runtime.worker.stop()  # nothing processes until a worker starts
    watched(web_only)
    send_generic(web_only, CONTRACT_SENT)
    send_generic(web_only, {"deal_id": "D-42", "stage": "Closed Lost"})
    worker_bot = crm_bot()
    applied(worker_bot)
    [intro] = worker_bot.wait_idle()
    assert intro.status == IntroStatus.CANCELLED
    assert fake.calls_to("conversations.create") == []


def test_won_without_introduction_is_introduced_late(crm_bot, fake):
    bot = crm_bot()
    watched(bot)
    send_generic(bot, {"deal_id": "D-42", "stage": "Closed Won", "company": "Acme Corp"})
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE and intro.late
    assert any("late" in m["text"] or "late" in str(m["blocks"]) for m in fake.dm_messages("U_AE"))


def test_backward_move_changes_nothing(crm_bot, fake):
    bot = crm_bot()
    watched(bot)
    send_generic(bot, CONTRACT_SENT)
    bot.wait_idle_for_one()
    calls = len(effects(fake))
    send_generic(bot, {"deal_id": "D-42", "stage": "Qualified To Buy"})
    applied(bot)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE and len(effects(fake)) == calls
    assert rows(bot, StageChange)[-1].effect == "Moving back changes nothing."


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-CareIntro-Timestamp": "1"}, "missing"),
        ("bad-secret", "signature does not match"),
        ("stale", "more than 5 minutes"),
    ],
)
def test_bad_signatures_are_refused_and_store_nothing(crm_bot, fake, headers, why):
    bot = crm_bot()
    body = '{"deal_id": "D-1", "stage": "Contract Sent"}'
    if headers == "bad-secret":
        headers = generic_headers(body, secret="wrong")
    elif headers == "stale":
        headers = generic_headers(body, timestamp=int(time.time()) - 6 * 60)
    status, raw = post(f"{bot.url}/crm/webhook", body, headers)
    assert status == 401 and why in raw
    assert rows(bot, CrmEvent) == [] and rows(bot, Deal) == []


def test_hubspot_bad_signature_is_refused(crm_bot, fake):
    bot = crm_bot()
    status, _ = send_hubspot(bot, [], secret="wrong")
    assert status == 401
    status, _ = send_hubspot(bot, [], timestamp_ms=int((time.time() - 400) * 1000))
    assert status == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not valid JSON"),
        ('{"stage": "Contract Sent"}', "deal_id: required"),
        ('{"deal_id": "D-1"}', "stage: required"),
        ('{"deal_id": "D-1", "stage": 5}', "stage: must be a string"),
        ('{"deal_id": "D-1", "stage": "x", "amount": "lots"}', "amount: must be a number"),
        ('{"deal_id": "D-1", "stage": "x", "close_date": "soon"}', "close_date: must be a date"),
        ('{"deal_id": "D-1", "stage": "x", "contacts": "a@b.example", "owner_email": "nope"}',
         "owner_email: not a valid email"),
        ('[{"deal_id": "D-1", "stage": "x"}, {"deal_id": "D 2", "stage": "x"}]', "[1].deal_id"),
        ("[]", "between 1 and"),
        ('"text"', "must be a JSON object"),
    ],
)  # fmt: skip
def test_malformed_bodies_get_400_naming_the_problem(crm_bot, fake, body, reason):
    bot = crm_bot()
    status, answer = send_generic(bot, body)
    assert status == 400
    assert reason in answer["error"]
    assert rows(bot, CrmEvent) == []


def test_bad_contact_emails_are_reported_not_stored(crm_bot, fake):
    bot = crm_bot()
    status, answer = send_generic(bot, {"deal_id": "D-5", "stage": "Appointment",
                                        "contacts": ["ok@acme.example", "broken@"]})  # fmt: skip
    assert status == 200
    assert answer["warnings"] == ["contacts: 'broken@' is not a valid email"]


def test_webhook_contacts_merge_with_those_given_to_watch(crm_bot, fake):
    from bot.models import Contact

    bot = crm_bot()
    make_member(bot.engine)
    bot.command("watch D-42 Acme Corp <@U_ENG> cto@acme.example")
    send_generic(bot, CONTRACT_SENT | {"contacts": ["CTO@acme.example", "ops@acme.example"]})
    bot.wait_idle_for_one()
    assert sorted(c.email for c in rows(bot, Contact)) == ["cto@acme.example", "ops@acme.example"]


def test_stage_by_hand_triggers_like_a_webhook(bot, fake):
    make_member(bot.engine)
    bot.command("watch D-9 Initech <@U_ENG>")
    status, answer = bot.command("stage D-9 Negotiation/Review")
    assert status == 200 and "introduction starts now" in answer["text"]
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    [change] = rows(bot, StageChange)
    assert (change.to_stage, change.source, change.actor) == ("negotiationreview", "slash", "U_AE")
    _, answer = bot.command("status D-9")
    assert "Negotiation/Review (from slash)" in str(answer)


def test_unwatch_stops_the_trigger(bot, fake):
    make_member(bot.engine)
    bot.command("watch D-9 Initech <@U_ENG>")
    _, answer = bot.command("unwatch D-9")
    assert "Stopped watching" in answer["text"]
    _, answer = bot.command("stage D-9 Contract Sent")
    assert "not watched" in answer["text"]
    assert bot.wait_idle() == []


def test_no_introduction_is_claimed_while_news_of_its_deal_waits(settings, engine):
    """Events are applied one transaction each; between "Contract Sent" (queues the
    introduction) and "Closed Lost" (cancels it) no worker thread may start it."""
    deal = make_deal(engine, "D-42", watched=True)
    make_deal(engine, "D-7", watched=True)
    with Session(engine) as session:
        request_introduction(session, deal=session.merge(deal), source="webhook", requested_by=None)
        store(session, [InboxItem("generic", "evt-lost", "D-42", {"stage": "Closed Lost"})])
        store(session, [InboxItem("generic", "evt-other", "D-7", {"stage": "Closed Lost"})])
        session.commit()
    worker = Worker(engine, settings, make_client(settings))
    assert worker.claim() is None  # news of D-42 waits: not yet
    with Session(engine) as session:
        for event in session.exec(select(CrmEvent).where(CrmEvent.crm_id == "D-42")):
            event.processed_at = utcnow()
            session.add(event)
        session.commit()
    assert worker.claim() is not None  # applied: free to go (news of D-7 is not about it)
