"""HubSpot end to end: the real app and worker, the real connector, FakeHubSpot behind it.

`HUBSPOT_ACCESS_TOKEN` and `HUBSPOT_API_URL` point the app at a FakeHubSpot with its rate
limits on; deals are changed in the fake as a person would in HubSpot, webhooks are
built and signed by the fake (`hub.events.*`, `hub.sign_webhook`, ids only, as HubSpot
sends them) and posted to `/crm/hubspot`. What the bot knows of a deal comes from
HubSpot's API: the company, the contacts, the owner (matched to a Slack user by email),
the amount. Each test ends with what people see in Slack and the note on the deal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.emulator import FakeSlack
from bot.emulator.hubspot import FakeHubSpot
from bot.emulator.hubspot.shapes import CUSTOM_PIPELINE_ID
from bot.models import Connector, CrmEvent, Introduction, IntroStatus
from bot.slack.requests import post
from tests.factories import make_member
from tests.waiting import wait_for

TOKEN = "pat-na1-e2e00000-1111-2222-3333-444444444444"
CONTRACT_SENT = "137498562"  # the custom pipeline's "Contract Sent": a number, not a name
OWNER = ("U_DANA", "dana", "Dana Deals", "dana@ours.example")  # only HubSpot names her


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=TOKEN, rate_limits=True) as server:
        yield server


@pytest.fixture
def hs_bot(make_bot, fake: FakeSlack, hub: FakeHubSpot) -> Callable[..., Any]:
    """The app with the HubSpot connector on; CARE_AUTO_WATCH=all, a roster of one."""
    user_id, name, real_name, email = OWNER
    fake.add_user(user_id, name=name, real_name=real_name, email=email, title="AE")

    def make(**overrides: Any):
        bot = make_bot(
            hubspot_access_token=TOKEN, hubspot_api_url=hub.url,
            hubspot_client_secret=hub.client_secret, auto_watch=True, **overrides,
        )  # fmt: skip
        make_member(bot.engine)
        wait_for(lambda: searched(hub), "the connector's first poll")
        return bot

    return make


def searched(hub: FakeHubSpot) -> int:
    """How many deal searches (polls) the fake has answered."""
    return sum(c.status is not None for c in hub.calls_to("POST /crm/v3/objects/deals/search"))


def seed_deal(hub: FakeHubSpot, *, company: bool = True) -> tuple[str, str | None]:
    """A deal in the custom pipeline at "Proposal", owned by Dana, with two contacts (one
    without an email); its dealname is not its company's name."""
    owner = hub.add_owner(OWNER[3], "Dana", "Deals")
    company_id = hub.add_company("Globex Industries", domain="globex.example") if company else None
    cto = hub.add_contact("cto@globex.example", "Cara", "Cole")
    nameless = hub.add_contact(None, "Nora", "Noemail")
    deal = hub.add_deal(
        "Platform renewal 2026", stage="137498561", pipeline=CUSTOM_PIPELINE_ID, amount=48000,
        closedate="2026-09-30T00:00:00Z", owner_id=owner,
        company_ids=[company_id] if company_id else [], contact_ids=[cto, nameless],
    )  # fmt: skip
    return deal, company_id


def deliver(bot, hub: FakeHubSpot, events: list[dict[str, Any]]) -> dict[str, Any]:
    signed = hub.sign_webhook(events, f"{bot.url}/crm/hubspot")
    status, raw = post(signed.url, signed.body.decode(), signed.headers)
    assert status == 200, raw
    return json.loads(raw)


def rows(bot, model) -> list:
    with Session(bot.engine) as session:
        return list(session.exec(select(model)))


def connector_row(bot) -> Connector | None:
    with Session(bot.engine) as session:
        return session.get(Connector, "hubspot")


def introduced(bot, hub: FakeHubSpot, deal_id: str) -> Introduction:
    """The deal's introduction once it is done and its note is on the deal."""
    intro = wait_for(
        lambda: next((i for i in rows(bot, Introduction) if i.status == IntroStatus.DONE), None),
        "the introduction",
    )
    wait_for(lambda: hub.notes_for_deal(deal_id), "the note on the deal")
    return intro


def assert_built_from_hubspot(fake: FakeSlack, hub: FakeHubSpot, deal_id: str) -> None:
    """What each person sees, all of it from HubSpot: company, owner, contacts, amount."""
    [channel] = [c for c in fake.channels.values() if c.name.startswith("care-")]
    assert channel.name == "care-globex-industries"  # the company's name, not the deal's
    assert {"U_ENG", "U_BACKUP", OWNER[0]} <= set(channel.members)  # the AE: HubSpot's owner
    assert "U_AE" not in channel.members
    invited = [c.args["emails"] for c in fake.calls_to("conversations.inviteShared")]
    assert invited == ["cto@globex.example"]  # Nora has no email: listed, never invited
    brief = json.dumps(fake.dm_messages("U_ENG"))
    assert "Globex Industries" in brief and "48,000" in brief and "Nora Noemail" in brief
    assert "Dana Deals" in brief or OWNER[0] in brief
    said_to_ae = json.dumps(fake.dm_messages(OWNER[0]))
    assert "care-globex-industries" in said_to_ae or channel.id in said_to_ae
    [note] = hub.notes_for_deal(deal_id)
    body = note["properties"]["hs_note_body"]
    assert "Erin Engineer" in body and "Sam Backup" in body
    assert f"channel={channel.id}" in body and "#care-globex-industries" in body
    assert "Cara Cole &lt;cto@globex.example&gt;" in body


def test_a_signed_webhook_of_ids_only_is_introduced_from_what_hubspot_says(hs_bot, fake, hub):
    bot = hs_bot()  # CARE_CRM_POLL_SECONDS=60: the poll ran at start, not again in this test
    deal_id, _ = seed_deal(hub)
    event = hub.move_stage(deal_id, CONTRACT_SENT)
    assert set(event) >= {"objectId", "propertyName", "propertyValue"}
    assert "dealname" not in json.dumps(event)  # ids only
    answer = deliver(bot, hub, [event])
    assert (answer["accepted"], answer["new"]) == (1, 1)

    intro = introduced(bot, hub, deal_id)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_hubspot(fake, hub, deal_id)
    assert [e.dedupe_key.split(":")[2] for e in rows(bot, CrmEvent)] == ["dealstage"]
    assert len(fake.calls_to("conversations.create")) == 1


def test_with_no_webhook_at_all_the_poll_finds_the_change(hs_bot, fake, hub):
    """The default CARE_CRM_POLL_SECONDS=60 finds it within a minute; here one second."""
    bot = hs_bot(crm_poll_seconds=1)
    deal_id, _ = seed_deal(hub)  # made after the connector was enabled: it is news
    hub.move_stage(deal_id, CONTRACT_SENT)  # and no webhook is sent

    intro = introduced(bot, hub, deal_id)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_hubspot(fake, hub, deal_id)
    assert {e.dedupe_key.split(":")[1] for e in rows(bot, CrmEvent)} == {"deal"}  # polled
    assert searched(hub) >= 2


def test_the_same_change_by_webhook_and_poll_is_one_introduction_and_one_note(hs_bot, fake, hub):
    bot = hs_bot(crm_poll_seconds=1)
    deal_id, _ = seed_deal(hub)
    event = hub.move_stage(deal_id, CONTRACT_SENT)
    deliver(bot, hub, [event])
    deliver(bot, hub, [event])  # HubSpot retries too

    introduced(bot, hub, deal_id)
    wait_for(
        lambda: any(e.dedupe_key.startswith("hubspot:deal:") for e in rows(bot, CrmEvent)),
        "the poll's own event for the deal",
    )
    wait_for(lambda: all(e.processed_at for e in rows(bot, CrmEvent)), "every event applied")
    time.sleep(1.5)  # one more poll and write-back pass: nothing new may come of them
    bot.wait_idle()
    assert len(rows(bot, Introduction)) == 1
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(hub.notes_for_deal(deal_id)) == 1 and len(hub.notes()) == 1
    assert_built_from_hubspot(fake, hub, deal_id)


def test_a_deal_without_a_company_waits_then_an_association_introduces_it(hs_bot, fake, hub):
    bot = hs_bot()
    deal_id, _ = seed_deal(hub, company=False)
    deliver(bot, hub, [hub.move_stage(deal_id, CONTRACT_SENT)])

    intro = wait_for(lambda: next(iter(rows(bot, Introduction)), None), "the waiting intro")
    assert intro.status == IntroStatus.WAITING
    told = wait_for(lambda: fake.dm_messages(OWNER[0]), "the AE's notice")
    assert "waits for company name" in json.dumps(told)
    deliver(bot, hub, [hub.move_stage(deal_id, CONTRACT_SENT)])  # said again: not told again
    wait_for(lambda: all(e.processed_at for e in rows(bot, CrmEvent)), "events applied")
    time.sleep(0.3)
    assert len(fake.dm_messages(OWNER[0])) == 1
    assert not [c for c in fake.channels.values() if c.name.startswith("care-")]

    company = hub.add_company("Globex Industries")
    hub.associate("deals", deal_id, "companies", company, primary=True)
    answer = deliver(bot, hub, [hub.events.deal_association_change(deal_id, company)])
    assert answer["accepted"] == 1

    intro = introduced(bot, hub, deal_id)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_hubspot(fake, hub, deal_id)
    assert len(rows(bot, Introduction)) == 1


def test_a_revoked_token_holds_the_event_until_it_works_again(hs_bot, fake, hub):
    bot = hs_bot()
    deal_id, _ = seed_deal(hub)
    hub.revoke_token(401)
    deliver(bot, hub, [hub.move_stage(deal_id, CONTRACT_SENT)])

    row = wait_for(lambda: (r := connector_row(bot)) and r.state == "failing" and r, "failing")
    assert "401" in (row.reason or "")
    time.sleep(0.5)
    [event] = rows(bot, CrmEvent)
    assert event.processed_at is None and event.error is None  # waits, kept
    assert not rows(bot, Introduction) and not fake.calls_to("conversations.create")
    _, answer = bot.command("status")
    assert ":warning: *HubSpot" in json.dumps(answer) and "401" in json.dumps(answer)

    hub.restore_token()
    intro = introduced(bot, hub, deal_id)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_hubspot(fake, hub, deal_id)
    assert wait_for(lambda: connector_row(bot).state == "ok", "the connector recovered")
    _, answer = bot.command("status")
    assert ":warning: *HubSpot" not in json.dumps(answer)
