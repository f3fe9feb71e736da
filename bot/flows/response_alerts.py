"""Response alerts: the engineer is DMed at the promise, the backup at twice it.

Each alert is claimed in the database before its DM is sent, and the DM carries a
metadata marker looked for before sending again, so a restart or a second worker never
DMs anyone twice for the same clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.home import HomeRefresh
from bot.models import Introduction, ResponseClock, utcnow
from bot.outages import log_failure
from bot.slack.client import call, find_posted, open_dm, try_call
from bot.store.responses import alert_sent, alerts_due, claim_alert, release_alert
from bot.templating import phrase, render_internal
from bot.text import Mrkdwn

log = logging.getLogger(__name__)

ALERT_KIND = "careintro_response_alert"


@dataclass
class ResponseAlerts:
    """Sends the alerts that are due: a periodic worker task."""

    engine: Engine
    client: WebClient
    settings: Settings
    homes: HomeRefresh
    owner: str | None = None  # the worker node claiming, so its death frees the claims

    def alert_due(self, now: datetime | None = None) -> int:
        """DM the engineer at the promise, the backup at twice it; each at most once."""
        now = now or utcnow()
        promise = timedelta(minutes=self.settings.response_minutes)
        sent = 0
        for level, after in (("engineer", promise), ("backup", 2 * promise)):
            with session_scope(self.engine) as session:
                due = alerts_due(
                    session, level=level, started_before=now - after, now=now,
                    lease_seconds=self.settings.lease_seconds,
                )  # fmt: skip
            for clock_id in due:
                sent += self._alert(clock_id, level, now)
        return sent

    def _alert(self, clock_id: int | None, level: str, now: datetime) -> int:
        """Claim, then DM; a failed DM gives the claim back so the next poll tries again."""
        with session_scope(self.engine) as session:
            if not claim_alert(
                session, clock_id=clock_id, level=level, now=now, owner=self.owner,
                lease_seconds=self.settings.lease_seconds,
            ):  # fmt: skip
                return 0
            clock = session.get(ResponseClock, clock_id)
            intro = session.get(Introduction, clock.introduction_id) if clock else None
        assert clock is not None and intro is not None
        person = intro.engineer_user_id if level == "engineer" else intro.backup_user_id
        if not person:
            return 0
        try:
            self._send_alert(person, clock, intro, level, now)
        except SlackStepError as exc:
            log_failure(log, exc, "clock_id=%s %s alert failed, retrying later: %s",
                        clock_id, level, exc)  # fmt: skip
            with session_scope(self.engine) as session:
                release_alert(session, clock_id=clock_id, level=level, claimed=now)
            return 0
        with session_scope(self.engine) as session:
            alert_sent(session, clock_id=clock_id, level=level, claimed=now)
        log.info("clock_id=%s %s alerted user=%s", clock_id, level, person)
        self.homes.publish_for_introduction(intro.id)
        return 1

    def _send_alert(
        self, person: str, clock: ResponseClock, intro: Introduction, level: str, now: datetime
    ) -> None:
        im = open_dm("alert", self.client, person)
        marker = {"clock_id": clock.id, "level": level}
        if self._already_sent(im, marker):
            return
        message = render_internal(
            "internal/response_alert.j2",
            level=level,
            clock=clock,
            intro=intro,
            minutes=int((now - clock.started_at).total_seconds() // 60),
            promise=self.settings.response_minutes,
            link=self._link(clock),
        )
        call(
            "alert",
            self.client.chat_postMessage,
            channel=im,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            metadata={"event_type": ALERT_KIND, "event_payload": marker},
        )

    def _already_sent(self, im: str, marker: dict[str, Any]) -> bool:
        """After a dropped connection the DM may have gone out: look before sending again."""
        found = find_posted(
            self.client, "alert", channel=im, event_type=ALERT_KIND, payload=marker, limit=50
        )
        return found is not None

    def _link(self, clock: ResponseClock) -> Mrkdwn:
        found = try_call(
            "alert",
            self.client.chat_getPermalink,
            ok_errors=frozenset({"message_not_found", "channel_not_found", "not_in_channel"}),
            channel=clock.channel_id,
            message_ts=clock.message_ts,
        )
        if isinstance(found, str) or not found.get("permalink"):
            return Mrkdwn(f"<#{clock.channel_id}>")
        url = str(found["permalink"]).translate(str.maketrans("", "", "<>|"))
        return Mrkdwn(phrase("events.alert.question_link", url=Mrkdwn(url)))
