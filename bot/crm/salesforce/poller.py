"""The poll: Opportunities saved since the cursor become stored CRM news, whole.

Every `CARE_CRM_POLL_SECONDS` one worker (claimed in the database,
`store.connectors.claim_poll`) sends one SOQL query (`mapping.select`) for the
Opportunities whose `SystemModstamp` is at or after the cursor, `ORDER BY
SystemModstamp, Id`, and reads every batch through `nextRecordsUrl`, storing each batch
before asking for the next: memory holds one batch (up to 2,000) whatever the backlog.
The first poll starts when the connector was first enabled (`Connector.enabled_at`): no
history is replayed.

The overlap. `SystemModstamp` has whole seconds, and a save's stamp is taken when its
transaction starts: a long transaction (a bulk update, a slow trigger) commits records
stamped before ones a poll has already seen (Salesforce's `getUpdated` says the same
with its `latestDateCovered`). So the cursor trails the server's clock: after a
complete read it moves to `OVERLAP_SECONDS` before the time Salesforce answered the
query (its `Date` header), never past what was read, never backwards. Records inside
the overlap are read again by the next poll; the dedupe key, the Opportunity's Id and
SystemModstamp, makes the database store each version once
(`store.crm_events.add_new_events`), across restarts and workers alike. Once nothing
changed for `OVERLAP_SECONDS`, a poll is one query answering no record.

Each Opportunity is stored as a `salesforce` event carrying its `DealRecord`: the poll
already read all of it, so the CRM-news flow applies it without asking again.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.crm.connector import ConnectorUnavailable
from bot.crm.salesforce import mapping
from bot.crm.salesforce.client import NAME, Page, SalesforceClient
from bot.db import session_scope
from bot.models import utcnow
from bot.store.connectors import claim_poll, connector, set_cursor
from bot.store.crm_events import add_new_events

log = logging.getLogger(__name__)
OVERLAP_SECONDS = 120.0
KIND = "salesforce"  # a stored event carrying the whole record (bot.flows.crm_news)


def parse_cursor(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC)


def poll_query(since: datetime) -> str:
    return mapping.select(
        where=f"SystemModstamp >= {mapping.soql_datetime(since)}", order_by="SystemModstamp, Id"
    )


class SalesforcePoller:
    """A worker task: returns how many new Opportunity versions it stored (0 when not due)."""

    def __init__(
        self, engine: Engine, client: SalesforceClient, *, every_seconds: float,
        overlap_seconds: float = OVERLAP_SECONDS,
    ) -> None:  # fmt: skip
        self.engine, self.client, self.every_seconds = engine, client, every_seconds
        self.overlap = timedelta(seconds=overlap_seconds)

    def __call__(self) -> int:
        now = utcnow()
        with session_scope(self.engine) as session:
            if not claim_poll(session, name=NAME, now=now, every_seconds=self.every_seconds):
                return 0
            row = connector(session, name=NAME, now=now)
            enabled = row.enabled_at
            since = parse_cursor(row.cursor) or (
                enabled.astimezone(UTC) if enabled.tzinfo else enabled.replace(tzinfo=UTC)
            )
        try:
            stored = self._poll(since.replace(microsecond=0))
        except ConnectorUnavailable as exc:  # logged once by the client; the next poll goes on
            log.info("connector=salesforce poll waits: %s", exc.reason)
            return 0
        if stored:
            log.info("connector=salesforce poll stored %s opportunity versions", stored)
        return stored

    def _poll(self, since: datetime) -> int:
        stored, cursor, settled = 0, since, None
        for page in self.client.pages(poll_query(since)):
            if settled is None:  # the query's own moment, on Salesforce's clock
                settled = (page.answered_at or utcnow()) - self.overlap
            added, seen = self._store(page, since, cursor, settled)
            stored, cursor = stored + added, seen
            page.records.clear()  # stored: freed before the next batch is read
        return stored

    def _store(
        self, page: Page, since: datetime, cursor: datetime, settled: datetime
    ) -> tuple[int, datetime]:
        """One batch's events and the cursor past them, in one transaction; returns how
        many were new and the latest stamp read so far."""
        rows, now, latest = [], utcnow(), cursor
        for opportunity in page.records:
            stamp = mapping.modstamp(opportunity)
            if stamp is None or not opportunity.get("Id"):
                continue
            record = mapping.deal_record(opportunity)
            rows.append({
                "source": NAME,
                "dedupe_key": f"salesforce:opportunity:{record.crm_id}:{stamp:%Y-%m-%dT%H:%M:%S}",
                "crm_id": record.crm_id,
                "payload": json.dumps({"kind": KIND, "record": record.to_json()}),
                "received_at": now,
            })  # fmt: skip
            latest = max(latest, stamp)
        # Read through `latest` (its second may go on in the next batch: `>=` reads it
        # again); once the last batch is in, all that was visible: up to `settled`.
        moved = max(since, settled if page.done else min(latest, settled))
        with session_scope(self.engine) as session:
            added = add_new_events(session, rows=rows)
            set_cursor(session, name=NAME, cursor=mapping.soql_datetime(moved), now=now)
        return added, latest
