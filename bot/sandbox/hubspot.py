"""The sandbox's second story: the HubSpot path, against the HubSpot fake.

A deal already in the fake portal (a custom pipeline, its company, two contacts, one
without an email, an owner who is a Slack user) reaches "Contract Sent", whose stage id
is a number. HubSpot's webhook (ids only, signed v3) is posted to `/crm/hubspot`; the
worker reads the deal back through the connector, introduces it and writes the note on
the deal. Everything the people see comes from what HubSpot said, not from the webhook.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.emulator import FakeSlack
from bot.emulator.hubspot import FakeHubSpot
from bot.emulator.hubspot.shapes import CUSTOM_PIPELINE_ID
from bot.models import IntroStatus
from bot.plain_text import html_to_text
from bot.sandbox.show import show_introduction, wait_for_introduction
from bot.slack.requests import post
from bot.templating import terminal_phrase as say

# The HubSpot deal's owner: a Slack user matched by email, the AE of the second story.
HUBSPOT_PEOPLE = [("U0AE2", "dana", "Dana Deals", "dana@ours.example", "Account Executive")]
COMPANY, DEAL_NAME, AMOUNT = "Globex Industries", "Platform renewal 2026", 72_000
PROPOSAL, CONTRACT_SENT = "137498561", "137498562"  # the fake's custom pipeline


def seed_hubspot(hub: FakeHubSpot) -> str:
    """The portal as a sales team left it: the deal at "Proposal"; returns its id."""
    owner = hub.add_owner(HUBSPOT_PEOPLE[0][3], "Dana", "Deals")
    company = hub.add_company(COMPANY, domain="globex.example")
    contacts = [hub.add_contact("it@globex.example", "Ivan", "Ito"),
                hub.add_contact(None, "Nora", "Noemail")]  # fmt: skip
    return hub.add_deal(
        DEAL_NAME, stage=PROPOSAL, pipeline=CUSTOM_PIPELINE_ID, amount=AMOUNT,
        closedate="2026-12-15T00:00:00Z", owner_id=owner, company_ids=[company],
        contact_ids=contacts,
    )  # fmt: skip


def hubspot_story(
    fake: FakeSlack, hub: FakeHubSpot, engine: Any, base_url: str, deal_id: str,
    timeout: float,
) -> int:  # fmt: skip
    """Move the deal, send HubSpot's webhook, print what each person sees and the note."""
    names = {uid: real for uid, _, real, _, _ in HUBSPOT_PEOPLE}
    seen = {user: len(fake.dm_messages(user)) for user in ("U0ENG", HUBSPOT_PEOPLE[0][0])}
    print("\n" + say("cli.sandbox.hubspot.heading"))
    print(say("cli.sandbox.hubspot.deal", deal_id=deal_id, name=DEAL_NAME, company=COMPANY,
              amount=f"{AMOUNT:,}", owner=HUBSPOT_PEOPLE[0][3]))  # fmt: skip
    event = hub.move_stage(deal_id, CONTRACT_SENT)
    print(say("cli.sandbox.hubspot.moved", stage_id=CONTRACT_SENT))
    signed = hub.sign_webhook([event], f"{base_url}/crm/hubspot")
    status, answer = post(signed.url, signed.body.decode(), signed.headers)
    shown = {k: event[k] for k in ("subscriptionType", "objectId", "propertyName",
                                   "propertyValue")}  # fmt: skip
    print(say("cli.sandbox.hubspot.webhook", event=json.dumps(shown), status=status,
              answer=answer))  # fmt: skip
    intro = wait_for_introduction(engine, deal_id, timeout)
    if intro is None or intro.status != IntroStatus.DONE:
        print("\n" + say("cli.sandbox.not_finished", reason=intro.last_error if intro else None))
        return 1
    print(say("cli.sandbox.hubspot.read_back"))
    show_introduction(
        fake,
        engine,
        intro,
        names | _slack_names(fake),
        dms_seen=seen,
        who={"U0ENG": "cli.sandbox.engineer", HUBSPOT_PEOPLE[0][0]: "cli.sandbox.hubspot.ae"},
    )
    notes = _wait_for_note(hub, deal_id, timeout)
    if not notes:
        print("\n" + say("cli.sandbox.hubspot.no_note"))
        return 1
    print("\n" + say("cli.sandbox.hubspot.note", deal_id=deal_id, count=len(notes)))
    print(html_to_text(notes[0]["properties"]["hs_note_body"]))
    return 0


def _slack_names(fake: FakeSlack) -> dict[str, str]:
    users = fake.users
    return {u: user.real_name for u, user in users.items()} | {"U0BOT": "CareIntro (bot)"}


def _wait_for_note(hub: FakeHubSpot, deal_id: str, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while not (notes := hub.notes_for_deal(deal_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return notes
