"""Readiness through the running app: the slash command and the modal without a company,
the company given later, no contact to invite, contacts listed without an email, and a
failing CRM connector shown to admins and in `status`."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlmodel import Session, select

from bot.crm.records import ContactPerson, DealRecord
from bot.db import session_scope
from bot.flows import crm_news
from bot.flows.home import ConnectorHomes, HomeRefresh, home_view
from bot.ids import Field
from bot.models import Introduction, IntroStatus, utcnow
from bot.slack.client import make_client
from bot.store.connectors import record_failure, record_ok
from tests.factories import make_member
from tests.listeners.test_modal import submission


def care_channels(fake) -> list:
    return [c for c in fake.channels.values() if c.name.startswith("care-")]


def test_now_without_a_company_waits_then_introduces_once(bot, fake):
    make_member(bot.engine)
    status, answer = bot.command("now D-1 <@U_ENG> cto@acme.example")
    assert status == 200
    assert "waits for a company name" in answer["text"]
    assert "/introduce-care now D-1 <company name>" in answer["text"]
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.WAITING and not care_channels(fake)
    _, answer = bot.command("status D-1")
    assert "Waiting for: company name" in json.dumps(answer)
    bot.command("now D-1 Acme Corp")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert [c.name for c in care_channels(fake)] == ["care-acme-corp"]
    bot.command("now D-1 Acme Corp")
    bot.wait_idle()
    assert len(fake.calls_to("conversations.create")) == 1


def test_the_modal_without_a_company_says_what_is_missing(bot, fake):
    make_member(bot.engine)
    status, body = bot.interact(submission({Field.DEAL: "D-7", Field.ENGINEER: "U_ENG"}))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    assert "waits for a company name" in json.dumps(answer["view"])
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.WAITING and not care_channels(fake)
    status, body = bot.interact(
        submission({Field.DEAL: "D-7", Field.COMPANY: "Globex", Field.ENGINEER: "U_ENG"})
    )
    assert body in ("", "{}")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE and fake.channel_by_name("care-globex")


def test_with_no_contact_the_ae_is_told_no_invitation_went_out(bot, fake):
    make_member(bot.engine)
    bot.command("now D-1 Acme Corp <@U_ENG>")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE
    said = json.dumps(fake.dm_messages("U_AE"))
    assert "No Slack Connect invitation went out" in said
    assert "has met their support engineer" not in said
    assert not fake.calls_to("conversations.inviteShared")


def test_contacts_without_an_email_are_listed_and_never_invited(bot, fake, settings):
    make_member(bot.engine)
    people = (ContactPerson(None, "Bob", "Nomail", "c2"),
              ContactPerson("cto@initech.example", "Ada", "Lovelace", "c1"))  # fmt: skip
    with session_scope(bot.engine) as session:
        crm_news.apply_record(session, record=DealRecord("H-1", company="Initech", people=people),
                              source="hubspot", settings=settings)  # fmt: skip
    bot.command("now H-1")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    invited = [c.args["emails"] for c in fake.calls_to("conversations.inviteShared")]
    assert invited == ["cto@initech.example"]
    assert "Bob Nomail" in json.dumps(fake.dm_messages("U_ENG"))  # the brief lists them
    said = json.dumps(fake.dm_messages("U_AE"))
    assert "No Slack Connect invitation went out" not in said and "Bob Nomail" in said
    _, answer = bot.command("status H-1")
    assert "Bob Nomail: no email in the CRM, so not invited" in json.dumps(answer)


def test_a_failing_connector_shows_to_admins_and_in_status_until_it_recovers(settings, engine,
                                                                            fake):  # fmt: skip
    admins = replace(settings, admins=frozenset({"U_ADMIN"}))
    homes = HomeRefresh(engine, make_client(settings), admins)
    watch = ConnectorHomes(engine, homes, admins.admins)
    assert watch() == 0  # learns the state
    with session_scope(engine) as session:
        record_failure(session, name="hubspot", reason="401: the token was revoked", now=utcnow())
    assert watch() == 1 and homes.flush(force=True) == 1  # the admin's Home republished
    from bot.flows.slash_handlers import status

    with Session(engine) as session:
        listing = status(session, crm_id=None, user_id="U_AE")
        assert listing.blocks[0]["text"]["text"].startswith(":warning: *HubSpot")
        assert "the token was revoked" in listing.blocks[0]["text"]["text"]
        views = {u: json.dumps(home_view(session, user_id=u, settings=admins))
                 for u in ("U_ADMIN", "U_AE")}  # fmt: skip
        nobody = json.dumps(home_view(session, user_id="U_ADMIN", settings=settings))
    assert "the token was revoked" in views["U_ADMIN"]
    assert "the token was revoked" not in views["U_AE"] + nobody  # CARE_ADMINS empty: nobody
    with session_scope(engine) as session:
        record_ok(session, name="hubspot", now=utcnow())
    assert watch() == 1
    with Session(engine) as session:
        assert "revoked" not in json.dumps(status(session, crm_id=None, user_id="U_AE").blocks)
        assert "revoked" not in json.dumps(home_view(session, user_id="U_ADMIN", settings=admins))
    published = [c for c in fake.calls_to("views.publish") if c.args["user_id"] == "U_ADMIN"]
    assert len(published) == 1


def test_a_waiting_deal_shows_in_the_stage_answer(bot, fake):
    make_member(bot.engine)
    _, answer = bot.command("watch D-3")
    assert "needs a company name" in answer["text"]
    _, answer = bot.command("stage D-3 Contract Sent")
    assert "waits for company name" in answer["text"]
    with Session(bot.engine) as session:
        [intro] = session.exec(select(Introduction)).all()
        assert intro.status == IntroStatus.WAITING
