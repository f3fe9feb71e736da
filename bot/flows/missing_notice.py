"""The one DM a deal's AE gets when its introduction waits for what the deal lacks
(SPEC: "its AE, when known, is DMed once what to add"). A worker task.

Once: the notice is claimed in the database (`Deal.missing_notice_at`, a conditional
UPDATE committed before the DM), so two workers never both send it, and recorded as
sent after (`missing_notice_sent_at`). A Slack error gives the claim back at once; a
worker that died between claim and record leaves a claim that is taken again after
`STALE_CLAIM`. Whoever sends looks first for the DM that may already be there (its
metadata names the deal), so a crash after the post is not a second DM.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows import readiness
from bot.models import Deal, utcnow
from bot.outages import log_failure
from bot.slack.client import call, find_posted, open_dm
from bot.store.introductions import introduction_of
from bot.store.readiness import claim_notice, notice_sent, notices_due, unclaim_notice
from bot.templating import render_internal

log = logging.getLogger(__name__)

KIND = "careintro_missing"
HISTORY_SCAN = 50


class MissingNotices:
    """Tell each waiting deal's AE what to add; cheap when none waits (one indexed query)."""

    def __init__(self, engine: Engine, client: WebClient) -> None:
        self.engine = engine
        self.client = client

    def __call__(self) -> int:
        with session_scope(self.engine) as session:
            due = notices_due(session, now=utcnow())
        return sum(self.notify(deal_id, ae) for deal_id, ae in due)

    def notify(self, deal_id: int, ae: str) -> bool:
        """Claim the deal's notice and send it; False when someone else has it."""
        claimed_at = utcnow()
        with session_scope(self.engine) as session:
            if not claim_notice(session, deal_id=deal_id, now=claimed_at):
                return False
            deal = session.get(Deal, deal_id)
            intro = introduction_of(session, deal_id=deal_id)
            assert deal is not None
            message = render_internal(
                "internal/ae_missing.j2",
                deal=deal,
                missing=readiness.missing_words(deal),
                requested=bool(intro and intro.source != "stage"),
            )
        try:
            channel = open_dm("missing", self.client, ae)
            if not find_posted(self.client, "missing", channel=channel, event_type=KIND,
                               payload={"deal_id": deal_id}, limit=HISTORY_SCAN):  # fmt: skip
                call(
                    "missing", self.client.chat_postMessage, channel=channel, text=message.text,
                    blocks=message.blocks, unfurl_links=False,
                    metadata={"event_type": KIND, "event_payload": {"deal_id": deal_id}},
                )  # fmt: skip
        except SlackStepError as exc:
            log_failure(log, exc, "deal_id=%s AE not told what is missing: %s", deal_id, exc)
            if not exc.permanent:
                with session_scope(self.engine) as session:
                    unclaim_notice(session, deal_id=deal_id, claimed_at=claimed_at)
            return False
        with session_scope(self.engine) as session:
            notice_sent(session, deal_id=deal_id, claimed_at=claimed_at, now=utcnow())
        log.info("deal_id=%s AE told what it waits for", deal_id)
        return True
