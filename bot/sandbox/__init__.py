"""`careintro sandbox`: the whole bot against the built-in emulators, no workspace and no
CRM needed.

It starts the Slack emulator and the HubSpot fake, the real HTTP app and the worker on
127.0.0.1 (`HUBSPOT_ACCESS_TOKEN`/`HUBSPOT_API_URL` pointed at the fake), sends the
signed slash commands an AE would type, waits for the introduction, and prints what
the prospect, the engineer and the AE each see; then the prospect accepts, asks a
question, the engineer is alerted and answers, and each person's Home tab is shown
(`bot.sandbox.response`: Slack's clock compressed, the bot's promise its default). Then
the HubSpot path
(`bot.sandbox.hubspot`): a deal reaches Contract Sent in the fake, HubSpot's signed
webhook arrives, the introduction is built from what HubSpot says and the note appears
on the deal.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db import session_scope
from bot.emulator import FakeSlack
from bot.emulator.hubspot import FakeHubSpot
from bot.models import IntroStatus
from bot.plain_text import mrkdwn_to_text
from bot.preview import sample_deal_fields
from bot.runtime import HttpServer, build_runtime
from bot.sandbox.hubspot import HUBSPOT_PEOPLE, hubspot_story, seed_hubspot
from bot.sandbox.response import ADMIN, COMPRESSED, ResponseStory
from bot.sandbox.show import show_introduction, wait_for_introduction
from bot.slack.requests import post, signed_headers, slash_command_body
from bot.store.deals import upsert_deal
from bot.templating import terminal_phrase as say

SECRET = "sandbox-signing-secret"  # noqa: S105 (the emulator's, not a real secret)
TOKEN = "xoxb-sandbox"  # noqa: S105
PEOPLE = [
    ("U0AE", "alex", "Alex Account", "alex@ours.example", "Account Executive"),
    ("U0ENG", "erin", "Erin Engineer", "erin@ours.example", "Senior Support Engineer"),
    ("U0BACKUP", "sam", "Sam Backup", "sam@ours.example", "Support Engineer"),
    ADMIN,
]
COMMANDS = [  # who types what: the roster is CARE_ADMINS' to change
    (ADMIN[0], "team add <@U0ENG|erin> backup <@U0BACKUP|sam>"),
    ("U0AE", "now D-1001 Acme Corp <@U0ENG|erin> cto@acme.example ops@acme.example"),
]


def run_sandbox(*, timeout: float = 30) -> int:
    for noisy in ("bot", "alembic", "slack_bolt", "slack_sdk", "waitress"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="careintro-sandbox-") as tmp,
        FakeSlack(
            team_id="T_OURS", team_name="Ours Inc", bot_token=TOKEN, bot_user_id="U0BOT"
        ) as fake,
        FakeHubSpot(rate_limits=True) as hub,
    ):
        for user_id, name, real_name, email, title in PEOPLE + HUBSPOT_PEOPLE:
            fake.add_user(
                user_id,
                name=name,
                real_name=real_name,
                email=email,
                title=title,
                tz="Europe/Berlin",
            )
        fake.set_clock(-COMPRESSED.total_seconds())  # before anything is posted
        hubspot_deal = seed_hubspot(hub)  # before the connector starts: not news to it
        settings = sandbox_settings(fake, hub, Path(tmp))
        runtime = build_runtime(settings, with_worker=True)
        assert runtime.worker is not None
        runtime.worker.start()
        server = HttpServer(runtime, host="127.0.0.1", port=0)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            code = _story(fake, runtime.engine, f"{base}/slack/events", settings, timeout)
            if code == 0:
                code = hubspot_story(fake, hub, runtime.engine, base, hubspot_deal, timeout)
            return code
        finally:
            runtime.worker.stop()
            server.stop()
            runtime.engine.dispose()


def sandbox_settings(fake: FakeSlack, hub: FakeHubSpot, tmp: Path) -> Settings:
    """The bot's settings against the fakes: everything else (CARE_RESPONSE_MINUTES too)
    is what a real installation gets by default."""
    return Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.url,
        database_url=f"sqlite:///{tmp / 'careintro.db'}",
        poll_seconds=0.2,
        hubspot_access_token=hub.token,
        hubspot_api_url=hub.url,
        hubspot_client_secret=hub.client_secret,
        auto_watch=True,
        admins=frozenset({ADMIN[0]}),
    )


def _seed_crm_deal(engine: Any) -> None:
    """The deal as a CRM would have recorded it: internal facts the prospect never sees."""
    with session_scope(engine) as session:
        upsert_deal(session, **sample_deal_fields())


def _story(fake: FakeSlack, engine: Any, url: str, settings: Settings, timeout: float) -> int:
    names = {uid: real for uid, _, real, _, _ in PEOPLE} | {"U0BOT": "CareIntro (bot)"}
    print(say("cli.sandbox.intro") + "\n")
    _seed_crm_deal(engine)
    fields = sample_deal_fields()
    print(say("cli.sandbox.crm_deal", crm_id=fields["crm_id"], company=fields["company"],
              amount=f"{fields['amount']:,}", stage=fields["stage_label"],
              owner=fields["owner_email"]) + "\n")  # fmt: skip
    print(say("cli.sandbox.ae_types"))
    for user_id, text in COMMANDS:
        body = slash_command_body(text, user_id=user_id)
        status, answer = post(url, body, signed_headers(SECRET, body))
        print(say("cli.sandbox.typed", who=names[user_id], text=mrkdwn_to_text(text, names)))
        print(
            say(
                "cli.sandbox.answer",
                text=mrkdwn_to_text(_answer_text(answer), names),
                status=status,
            )
        )
    intro = wait_for_introduction(engine, SAMPLE_DEAL_ID, timeout)
    if intro is None or intro.status != IntroStatus.DONE:
        print("\n" + say("cli.sandbox.not_finished", reason=intro.last_error if intro else None))
        return 1
    show_introduction(fake, engine, intro, names, who={"U0ENG": "cli.sandbox.engineer",
                                                        "U0AE": "cli.sandbox.ae"})  # fmt: skip
    return ResponseStory(fake, engine, url, SECRET, intro, settings, names, timeout).run()


def _answer_text(raw: str) -> str:
    import json

    try:
        return json.loads(raw).get("text", raw)
    except ValueError:
        return raw


SAMPLE_DEAL_ID = sample_deal_fields()["crm_id"]
