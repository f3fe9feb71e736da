"""The sandbox goes on past the introduction: the prospect accepts the Slack Connect
invitation and asks a question in the channel, the response clock runs, the engineer is
DMed, answers, and each person's Home tab is shown.

Everything goes the way it does with Slack: the emulator's people act (the acceptance, a
message by a person of another organisation, a Home tab opened) and the events Slack
would send are signed and posted to the app, whose worker applies them. Only time is
compressed, and only Slack's: the emulator's clock (message `ts`) runs `COMPRESSED`
behind the machine's from the start, so the question is that old when the worker, on
the real clock, looks at it; the bot runs with its default CARE_RESPONSE_MINUTES.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from bot.config import Settings
from bot.db import session_scope
from bot.emulator import FakeSlack
from bot.emulator.state import Channel
from bot.flows.response_alerts import ALERT_KIND
from bot.models import Introduction, InviteState, ResponseClock
from bot.plain_text import blocks_to_text
from bot.sandbox.show import show
from bot.slack.requests import post, signed_headers
from bot.store.contacts import contacts_of
from bot.store.responses import clocks_of
from bot.store.slack_events import event_applied
from bot.templating import terminal_phrase as say

T = TypeVar("T")
COMPRESSED = timedelta(minutes=31)  # how far behind Slack's clock runs until the answer
# Acme's CTO, a person of Acme's own Slack workspace (another organisation).
PROSPECT = ("U0CTO", "jordan", "Jordan Chen", "cto@acme.example", "T0ACME")
ADMIN = ("U0ADMIN", "pat", "Pat Admin", "pat@ours.example", "Workspace admin")
QUESTION = "Hi! How do we rotate our API keys without downtime?"
ANSWER = "Hi Jordan, Erin here: create the new key, deploy it, then revoke the old one."


@dataclass
class ResponseStory:
    """One run of the story; a step returns None, or the key of what did not happen."""

    fake: FakeSlack
    engine: Any
    url: str
    secret: str
    intro: Introduction
    settings: Settings
    names: dict[str, str]
    timeout: float

    @property
    def channel(self) -> Channel:
        return self.fake.channels[self.intro.channel_id or ""]

    def run(self) -> int:
        """Accept, ask, alert, answer, Homes; 1 (and why) when a step does not happen."""
        self.names = self.names | {PROSPECT[0]: PROSPECT[2], self.channel.id: self.channel.name}
        print("\n" + say("cli.sandbox.watch.heading", promise=self.settings.response_minutes))
        engineer = self.intro.engineer_user_id or ""
        people = {engineer: "cli.sandbox.engineer", self.intro.ae_user_id or "": "cli.sandbox.ae",
                  ADMIN[0]: "cli.sandbox.watch.admin"}  # fmt: skip
        for step in (self.accept, self.ask, lambda: self.alerted(engineer),
                     lambda: self.answer(engineer)):  # fmt: skip
            if (missing := step()) is not None:
                return self.stopped(missing)
        for user_id, phrase_key in people.items():
            if not self.home(user_id, phrase_key):
                return self.stopped("home")
        return 0

    @staticmethod
    def stopped(step: str) -> int:
        print("\n" + say("cli.sandbox.watch.missing", step=say(f"cli.sandbox.watch.steps.{step}")))
        return 1

    def accept(self) -> str | None:
        """The prospect accepts the invitation; Slack's event is posted to the app."""
        user_id, _, real_name, email, team = PROSPECT
        invite = next(i for i in self.fake.shared_invites if i["email"] == email)
        accepted = self.fake.accept_shared_invite(invite["invite_id"], user_id=user_id,
                                                  team_id=team)  # fmt: skip
        status = self.send(self.fake.event_callback(accepted))
        print(say("cli.sandbox.watch.accepted", name=real_name, email=email, team=team,
                  status=status))  # fmt: skip
        return None if _until(lambda: self._accepted(email), self.timeout) else "accepted"

    def ask(self) -> str | None:
        """The prospect asks in the channel; the clock starts on Slack's (compressed) ts."""
        asked = self.fake.post_as(PROSPECT[0], self.channel.id, QUESTION)
        status = self.send(asked)
        print(say("cli.sandbox.watch.asked", name=PROSPECT[2], channel=self.channel.name,
                  text=QUESTION, status=status, team=asked["team_id"]))  # fmt: skip
        if not _until(self._clock, self.timeout):
            return "clock_started"
        print(say("cli.sandbox.watch.clock_started", name=PROSPECT[2]))
        self.fake.set_clock(0)  # Slack catches up with the machine: COMPRESSED has passed
        print(say("cli.sandbox.watch.compressed", minutes=int(COMPRESSED.total_seconds() // 60),
                  promise=self.settings.response_minutes))  # fmt: skip
        return None

    def alerted(self, engineer: str) -> str | None:
        """The engineer's DM, and their Home as the bot published it when the clock started
        (the question's event is applied: `send` waited)."""
        alert = _until(lambda: self._alert(engineer), self.timeout)
        if alert is None:
            return "alerted"
        print("\n" + say("cli.sandbox.dm_heading", who=say("cli.sandbox.engineer")))
        print(show(alert, self.names) + "\n")
        print(say("cli.sandbox.watch.home_waiting", who=say("cli.sandbox.engineer")))
        print(blocks_to_text(self.fake.views_published[engineer]["blocks"], self.names) + "\n")
        return None

    def answer(self, engineer: str) -> str | None:
        status = self.send(self.fake.post_as(engineer, self.channel.id, ANSWER))
        print(say("cli.sandbox.watch.answered", name=self.names.get(engineer, engineer),
                  channel=self.channel.name, text=ANSWER, status=status))  # fmt: skip
        clock = _until(lambda: self._clock(answered=True), self.timeout)
        if clock is None:
            return "answered"
        print(say("cli.sandbox.watch.stopped", name=self.names.get(clock.answered_by or "", ""),
                  minutes=round((clock.response_seconds or 0) / 60)))  # fmt: skip
        return None

    def home(self, user_id: str, phrase_key: str) -> bool:
        """The person opens the Home tab (Slack's `app_home_opened`); print what it shows."""
        before = self.publishes(user_id)
        self.send(self.fake.open_home(user_id))
        if not _until(lambda: self.publishes(user_id) > before, self.timeout):
            return False
        print("\n" + say("cli.sandbox.watch.home_heading", who=say(phrase_key)))
        print(blocks_to_text(self.fake.views_published[user_id]["blocks"], self.names))
        return True

    def send(self, body: dict[str, Any]) -> int:
        """Post an event callback signed as Slack signs it and wait for the worker to have
        applied it (its Homes published too); the HTTP status."""
        raw = json.dumps(body)
        headers = signed_headers(self.secret, raw, content_type="application/json")
        status = post(self.url, raw, headers)[0]
        _until(lambda: self._applied(body["event_id"]), self.timeout)
        return status

    def _applied(self, event_id: str) -> bool:
        with session_scope(self.engine) as session:
            return event_applied(session, event_id=event_id)

    def publishes(self, user_id: str) -> int:
        """How many Homes of this person Slack took."""
        calls = self.fake.calls_to("views.publish")
        return sum(1 for c in calls if c.ok and c.args.get("user_id") == user_id)

    def _accepted(self, email: str) -> bool:
        with session_scope(self.engine) as session:
            contacts = contacts_of(session, deal_id=self.intro.deal_id)
            return any(c.email == email and c.invite_state == InviteState.ACCEPTED
                       for c in contacts)  # fmt: skip

    def _clock(self, *, answered: bool = False) -> ResponseClock | None:
        with session_scope(self.engine) as session:
            clocks = clocks_of(session, intro_id=self.intro.id)
            return next((c for c in clocks if answered == (c.answered_at is not None)), None)

    def _alert(self, user_id: str) -> dict[str, Any] | None:
        return next(
            (m for m in self.fake.dm_messages(user_id)
             if (m.get("metadata") or {}).get("event_type") == ALERT_KIND),
            None,
        )  # fmt: skip


def _until(probe: Callable[[], T | None], timeout: float) -> T | None:
    """What `probe` finds, waiting for it up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found or None
