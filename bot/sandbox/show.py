"""What the sandbox prints of an introduction: the channel as the prospect sees it, the
invitations, and each person's DMs from the bot."""

from __future__ import annotations

import time
from typing import Any

from bot.db import session_scope
from bot.emulator import FakeSlack
from bot.models import Introduction, IntroStatus
from bot.plain_text import blocks_to_text, mrkdwn_to_text
from bot.store.contacts import contacts_of
from bot.store.deals import get_deal
from bot.store.introductions import introduction_of
from bot.templating import terminal_phrase as say


def show_introduction(
    fake: FakeSlack,
    engine: Any,
    intro: Introduction,
    names: dict[str, str],
    *,
    who: dict[str, str],
    dms_seen: dict[str, int] | None = None,
) -> None:
    """The care channel as the prospect sees it, the invitations, and the DMs of each
    person in `who` (user id -> phrase naming them) after the first `dms_seen` of theirs."""
    channel = fake.channels[intro.channel_id]
    names |= {intro.channel_id: channel.name}
    print("\n" + say("cli.sandbox.prospect_sees", channel=channel.name, private=channel.is_private))
    print(say("cli.sandbox.topic", topic=mrkdwn_to_text(channel.topic, names)))
    for message in fake.messages(intro.channel_id):
        posted = say("cli.sandbox.posted", pinned=message["ts"] in channel.pins)
        print(f"\n{posted}\n{show(message, names)}")
    with session_scope(engine) as session:
        contacts = contacts_of(session, deal_id=intro.deal_id)
        print("\n" + say("cli.sandbox.invitations"))
        for contact in contacts:
            name = " ".join(n for n in (contact.first_name, contact.last_name) if n)
            state = contact.invite_state
            print(say("cli.sandbox.invitation", email=contact.email, state=state, name=name))
    for user_id, phrase_key in who.items():
        print("\n" + say("cli.sandbox.dm_heading", who=say(phrase_key)))
        for message in fake.dm_messages(user_id)[(dms_seen or {}).get(user_id, 0) :]:
            print(show(message, names) + "\n")
    members = [names.get(m, m) for m in sorted(channel.members)]
    print(say("cli.sandbox.members", channel=channel.name, names=members))


def show(message: dict[str, Any], names: dict[str, str]) -> str:
    if message.get("blocks"):
        return blocks_to_text(message["blocks"], names)
    return mrkdwn_to_text(message.get("text", ""), names)


def wait_for_introduction(engine: Any, crm_id: str, timeout: float) -> Introduction | None:
    """The deal's introduction once it is done or failed (as it stands at the timeout)."""
    deadline, intro = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            deal = get_deal(session, crm_id=crm_id)
            intro = introduction_of(session, deal_id=deal.id) if deal else None
            if intro and intro.status in (IntroStatus.DONE, IntroStatus.FAILED):
                return intro
        time.sleep(0.1)
    return intro
