"""`careintro sandbox`: the whole bot against the built-in Slack emulator, no workspace needed.

It starts the emulator, the real HTTP app and the worker on 127.0.0.1, sends the
signed slash commands an AE would type, waits for the introduction, and prints what
the prospect, the engineer and the AE each see.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db import session_scope
from bot.emulator import FakeSlack
from bot.models import Introduction, IntroStatus
from bot.plain_text import blocks_to_text, mrkdwn_to_text
from bot.preview import sample_deal_fields
from bot.runtime import HttpServer, build_runtime
from bot.slack.requests import post, signed_headers, slash_command_body
from bot.store.contacts import contacts_of
from bot.store.deals import get_deal, upsert_deal
from bot.store.introductions import introduction_of
from bot.templating import terminal_phrase as say

SECRET = "sandbox-signing-secret"  # noqa: S105 (the emulator's, not a real secret)
TOKEN = "xoxb-sandbox"  # noqa: S105
PEOPLE = [
    ("U0AE", "alex", "Alex Account", "alex@ours.example", "Account Executive"),
    ("U0ENG", "erin", "Erin Engineer", "erin@ours.example", "Senior Support Engineer"),
    ("U0BACKUP", "sam", "Sam Backup", "sam@ours.example", "Support Engineer"),
]
COMMANDS = [
    "team add <@U0ENG|erin> backup <@U0BACKUP|sam>",
    "now D-1001 Acme Corp <@U0ENG|erin> cto@acme.example ops@acme.example",
]


def run_sandbox(*, timeout: float = 30) -> int:
    for noisy in ("bot", "alembic", "slack_bolt", "slack_sdk", "waitress"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="careintro-sandbox-") as tmp,
        FakeSlack(
            team_id="T_OURS", team_name="Ours Inc", bot_token=TOKEN, bot_user_id="U0BOT"
        ) as fake,
    ):
        for user_id, name, real_name, email, title in PEOPLE:
            fake.add_user(
                user_id,
                name=name,
                real_name=real_name,
                email=email,
                title=title,
                tz="Europe/Berlin",
            )
        settings = Settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
            database_url=f"sqlite:///{Path(tmp) / 'careintro.db'}",
            poll_seconds=0.2,
        )
        runtime = build_runtime(settings, with_worker=True)
        assert runtime.worker is not None
        runtime.worker.start()
        server = HttpServer(runtime, host="127.0.0.1", port=0)
        server.start()
        try:
            return _story(
                fake, runtime.engine, f"http://127.0.0.1:{server.port}/slack/events", timeout
            )
        finally:
            runtime.worker.stop()
            server.stop()
            runtime.engine.dispose()


def _seed_crm_deal(engine: Any) -> None:
    """The deal as a CRM would have recorded it: internal facts the prospect never sees."""
    with session_scope(engine) as session:
        upsert_deal(session, **sample_deal_fields())


def _story(fake: FakeSlack, engine: Any, url: str, timeout: float) -> int:
    names = {uid: real for uid, _, real, _, _ in PEOPLE} | {"U0BOT": "CareIntro (bot)"}
    print(say("cli.sandbox.intro") + "\n")
    _seed_crm_deal(engine)
    fields = sample_deal_fields()
    print(say("cli.sandbox.crm_deal", crm_id=fields["crm_id"], company=fields["company"],
              amount=f"{fields['amount']:,}", stage=fields["stage_label"],
              owner=fields["owner_email"]) + "\n")  # fmt: skip
    print(say("cli.sandbox.ae_types"))
    for text in COMMANDS:
        body = slash_command_body(text, user_id="U0AE")
        status, answer = post(url, body, signed_headers(SECRET, body))
        print(say("cli.sandbox.typed", text=mrkdwn_to_text(text, names)))
        print(
            say(
                "cli.sandbox.answer",
                text=mrkdwn_to_text(_answer_text(answer), names),
                status=status,
            )
        )
    intro = _wait_for_introduction(engine, timeout)
    if intro is None or intro.status != IntroStatus.DONE:
        print("\n" + say("cli.sandbox.not_finished", reason=intro.last_error if intro else None))
        return 1
    channel = fake.channels[intro.channel_id]
    names |= {intro.channel_id: channel.name}
    print("\n" + say("cli.sandbox.prospect_sees", channel=channel.name, private=channel.is_private))
    print(say("cli.sandbox.topic", topic=mrkdwn_to_text(channel.topic, names)))
    for message in fake.messages(intro.channel_id):
        posted = say("cli.sandbox.posted", pinned=message["ts"] in channel.pins)
        print(f"\n{posted}\n{_show(message, names)}")
    with session_scope(engine) as session:
        contacts = contacts_of(session, deal_id=intro.deal_id)
        print("\n" + say("cli.sandbox.invitations"))
        for contact in contacts:
            print(say("cli.sandbox.invitation", email=contact.email, state=contact.invite_state))
    for user_id, who in (("U0ENG", "cli.sandbox.engineer"), ("U0AE", "cli.sandbox.ae")):
        print("\n" + say("cli.sandbox.dm_heading", who=say(who)))
        for message in fake.dm_messages(user_id):
            print(_show(message, names) + "\n")
    members = [names.get(m, m) for m in sorted(channel.members)]
    print(say("cli.sandbox.members", channel=channel.name, names=members))
    return 0


def _answer_text(raw: str) -> str:
    import json

    try:
        return json.loads(raw).get("text", raw)
    except ValueError:
        return raw


def _show(message: dict[str, Any], names: dict[str, str]) -> str:
    if message.get("blocks"):
        return blocks_to_text(message["blocks"], names)
    return mrkdwn_to_text(message.get("text", ""), names)


SAMPLE_DEAL_ID = sample_deal_fields()["crm_id"]


def _wait_for_introduction(engine: Any, timeout: float) -> Introduction | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            deal = get_deal(session, crm_id=SAMPLE_DEAL_ID)
            intro = introduction_of(session, deal_id=deal.id) if deal else None
            if intro and intro.status in (IntroStatus.DONE, IntroStatus.FAILED):
                return intro
        time.sleep(0.1)
    return intro
