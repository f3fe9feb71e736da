"""What a deal needs before it is introduced (SPEC "CRM connectors"): its AE known when
it is recorded, a company name (else it waits, its AE told once), contacts without an
email listed but never invited."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session, select

from bot.crm.records import ContactPerson, DealRecord
from bot.db import session_scope
from bot.flows import crm_news
from bot.flows.home import home_view
from bot.flows.missing_notice import MissingNotices
from bot.flows.reminders.digest import build_digests
from bot.flows.slash_handlers import status
from bot.models import Contact, Deal, Introduction, IntroStatus, utcnow
from bot.slack.client import make_client
from bot.slack.directory import UserDirectory
from bot.store.claims import claim_introduction
from bot.store.deals import deals_for_user, get_deal
from bot.store.home import deals_of_ae
from bot.store.readiness import STALE_CLAIM, claim_notice
from tests.factories import make_member


def record(session, settings, rec: DealRecord, lookup=None) -> int:
    queued = crm_news.apply_record(
        session, record=rec, source="webhook", settings=settings, lookup_user=lookup
    )
    session.commit()
    return queued


def test_the_ae_is_the_crm_owner_looked_up_once_per_email(settings, engine, fake):
    owners = UserDirectory(make_client(settings))
    with Session(engine, expire_on_commit=False) as session:
        for crm_id in ("H-1", "H-2"):  # two deals of one owner: one Slack call
            record(session, settings, DealRecord(crm_id, owner_email="alex@ours.example"),
                   owners.lookup)  # fmt: skip
        record(session, settings, DealRecord("H-3", owner_email="nobody@else.example"),
               owners.lookup)  # fmt: skip
        record(session, settings, DealRecord("H-4", owner_email="NOBODY@else.example"),
               owners.lookup)  # fmt: skip
        aes = [get_deal(session, crm_id=f"H-{n}").ae_user_id for n in range(1, 5)]
    assert aes == ["U_AE", "U_AE", None, None]
    emails = [c.args["email"] for c in fake.calls_to("users.lookupByEmail")]
    assert emails == ["alex@ours.example", "nobody@else.example"]  # a miss is cached too


def test_an_owner_not_in_slack_leaves_the_registrant_as_ae(settings, session):
    with session_scope(session.get_bind()) as s:
        s.add(Deal(crm_id="H-9", registered_by="U_ENG2"))
    record(session, settings, DealRecord("H-9", owner_email="nobody@else.example"),
           lambda email: None)  # fmt: skip
    assert get_deal(session, crm_id="H-9").ae_user_id == "U_ENG2"


def test_an_un_introduced_deal_shows_in_its_aes_status_home_and_reminder(settings, session):
    lookup = {"alex@ours.example": "U_AE"}.get
    soon = utcnow().date()
    rec = DealRecord("H-5", company="Initech", stage="Qualified", close_date=soon,
                     owner_email="alex@ours.example")  # fmt: skip
    record(session, settings, rec, lookup)
    assert [r.crm_id for r in deals_for_user(session, user_id="U_AE")] == ["H-5"]
    assert [d.crm_id for d, intro in deals_of_ae(session, user_id="U_AE")] == ["H-5"]
    home = json.dumps(home_view(session, user_id="U_AE", settings=settings))
    assert "Initech" in home and "not introduced" in home
    digests = dict(build_digests(session, today={"U_AE": soon}, now=utcnow(), settings=settings))
    [item] = digests["U_AE"].soon.items()  # closing soon, no introduction yet
    assert item.deal.crm_id == "H-5" and item.intro is None
    assert deals_for_user(session, user_id="U_ENG") == []


def waiting_deal(session, settings) -> Deal:
    make_member(session.get_bind())
    watched = replace(settings, auto_watch=True)
    queued = record(session, watched, DealRecord("H-7", stage="Contract Sent",
                                                 owner_email="alex@ours.example"),
                    {"alex@ours.example": "U_AE"}.get)  # fmt: skip
    assert queued == 0
    return get_deal(session, crm_id="H-7")


def test_without_a_company_the_deal_waits_and_is_never_claimed(settings, session):
    deal = waiting_deal(session, settings)
    intro = session.exec(select(Introduction)).one()
    assert intro.status == IntroStatus.WAITING
    assert claim_introduction(session, owner="w1", lease_seconds=30, now=utcnow()) is None
    said = json.dumps(status(session, crm_id=deal.crm_id, user_id="U_AE").blocks)
    assert "Waiting for: company name" in said


def test_the_ae_is_told_once_by_two_workers_and_a_restart(settings, engine, session, fake):
    waiting_deal(session, settings)
    client = make_client(settings)
    workers = [MissingNotices(engine, client), MissingNotices(engine, client)]
    threads = [threading.Thread(target=w) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert MissingNotices(engine, make_client(settings))() == 0  # a restarted worker
    [dm] = fake.dm_messages("U_AE")
    said = json.dumps(dm)
    assert "waits for company name" in said and "/introduce-care now H-7" in said
    with Session(engine) as s:
        assert get_deal(s, crm_id="H-7").missing_notice_at is not None


def test_a_dm_refused_for_a_moment_is_sent_later_once(settings, engine, session, fake):
    waiting_deal(session, settings)
    fake.fail_next("chat.postMessage", error="internal_error")
    notices = MissingNotices(engine, make_client(settings))
    assert notices() == 0
    assert notices() == 1
    assert notices() == 0
    assert len(fake.dm_messages("U_AE")) == 1


def test_a_worker_that_died_holding_the_notice_leaves_it_to_the_next(settings, engine, session,
                                                                    fake):  # fmt: skip
    """Claimed, then the worker died before posting: a live claim is left alone; once it
    is STALE_CLAIM old, the next worker sends the one DM."""
    deal = waiting_deal(session, settings)
    notices = MissingNotices(engine, make_client(settings))
    with session_scope(engine) as s:
        assert claim_notice(s, deal_id=deal.id, now=utcnow() - timedelta(minutes=1))
    assert notices() == 0 and fake.dm_messages("U_AE") == []  # maybe still sending
    with session_scope(engine) as s:
        s.get(Deal, deal.id).missing_notice_at = utcnow() - STALE_CLAIM - timedelta(seconds=1)
    assert notices() == 1 and notices() == 0
    assert len(fake.dm_messages("U_AE")) == 1


def test_a_worker_that_died_after_posting_is_not_followed_by_a_second_dm(settings, engine,
                                                                        session, fake):  # fmt: skip
    """Posted, then the worker died before recording it: the next one finds the DM by its
    metadata and only records it."""
    deal = waiting_deal(session, settings)
    fake.drop_next("chat.postMessage", after_effect=True)  # Slack posted; we never heard
    notices = MissingNotices(engine, make_client(settings))
    assert notices() == 0  # the lost answer gave the claim back
    assert notices() == 1 and notices() == 0
    assert len(fake.dm_messages("U_AE")) == 1
    with Session(engine) as s:
        assert get_deal(s, crm_id=deal.crm_id).missing_notice_sent_at is not None


def test_a_company_arriving_later_queues_it_once(settings, session):
    waiting_deal(session, settings)
    watched = replace(settings, auto_watch=True)
    assert record(session, watched, DealRecord("H-7", company="Initech")) == 1
    assert record(session, watched, DealRecord("H-7", company="Initech")) == 0
    intro = session.exec(select(Introduction)).one()
    session.refresh(intro)
    assert intro.status == IntroStatus.PENDING
    assert claim_introduction(session, owner="w1", lease_seconds=30, now=utcnow()) == intro.id


def test_a_lost_stage_cancels_a_waiting_introduction(settings, session):
    waiting_deal(session, settings)
    watched = replace(settings, auto_watch=True)
    record(session, watched, DealRecord("H-7", stage="Closed Lost"))
    assert record(session, watched, DealRecord("H-7", company="Initech")) == 0
    intro = session.exec(select(Introduction)).one()
    session.refresh(intro)
    assert intro.status == IntroStatus.CANCELLED


def test_contacts_without_an_email_are_listed_once_by_crm_id(settings, session):
    people = (ContactPerson("cto@initech.example", "Ada", "Lovelace", "c1"),
              ContactPerson(None, "Bob", "Nomail", "c2"))  # fmt: skip
    rec = DealRecord("H-8", company="Initech", people=people)
    record(session, settings, rec)
    again = (ContactPerson("CTO@initech.example", "Ada", "King", "c1"),
             ContactPerson(None, "Bob", "Nomail", "c2"))  # fmt: skip
    record(session, settings, replace(rec, people=again))
    rows = session.exec(select(Contact).order_by(Contact.id)).all()
    assert [(c.email, c.last_name, c.crm_contact_id) for c in rows] == [
        ("cto@initech.example", "King", "c1"), (None, "Nomail", "c2")]  # fmt: skip
    said = json.dumps(status(session, crm_id="H-8", user_id="U_AE").blocks)
    assert "Bob Nomail: no email in the CRM, so not invited" in said
