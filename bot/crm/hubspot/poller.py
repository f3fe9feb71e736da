"""The reconciliation poll: deals modified since the cursor become stored CRM events.

Webhooks can be missed, or never configured; every `CARE_CRM_POLL_SECONDS` one worker
(claimed in the database, `store.connectors.claim_poll`) searches
`POST /crm/v3/objects/deals/search` for `hs_lastmodifieddate` at or after the cursor,
ascending, 200 a page, every page. HubSpot's search stops at 10,000 results: past it,
the search starts again from the last date seen. The first poll starts when the
connector was first enabled (`Connector.enabled_at`): no history is replayed.

Each deal found is stored as a `hubspot_ref` event (the CRM-news flow reads the deal);
its dedupe key is the id and the modification time. The search overlaps the last one
by the cursor's own millisecond (`GTE`, not `GT`): a deal saved in the same millisecond
as the last one seen, but indexed after that search, is not missed, and the dedupe key
keeps the ones seen already from being applied twice. A wider overlap would make a
quiet poll after a busy second cost more than one call. The cursor moves in the
transaction that stores the events. A quiet poll is one search call.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bot.crm.connector import ConnectorUnavailable
from bot.crm.hubspot.client import NAME, HubSpotClient
from bot.db import session_scope
from bot.models import utcnow
from bot.store.connectors import claim_poll, connector, set_cursor
from bot.store.crm_events import add_new_events

log = logging.getLogger(__name__)
PAGE = 200
MAX_RESULTS = 10_000  # HubSpot's search cap
MODIFIED = "hs_lastmodifieddate"


def modified_ms(value: Any) -> int | None:
    """HubSpot dates are ISO 8601 (`2025-01-02T03:04:05.678Z`) or epoch milliseconds."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)


def epoch_ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)


class HubSpotPoller:
    """A worker task: returns how many new deal events it stored (0 when not due)."""

    def __init__(self, engine: Engine, client: HubSpotClient, *, every_seconds: float) -> None:
        self.engine, self.client, self.every_seconds = engine, client, every_seconds

    def __call__(self) -> int:
        now = utcnow()
        with session_scope(self.engine) as session:
            if not claim_poll(session, name=NAME, now=now, every_seconds=self.every_seconds):
                return 0
            row = connector(session, name=NAME, now=now)
            cursor = int(row.cursor) if row.cursor else None
            since = cursor if cursor is not None else epoch_ms(row.enabled_at)
        try:
            stored = self._poll(since, cursor)
        except ConnectorUnavailable as exc:  # logged once by the client; the next poll goes on
            log.info("connector=hubspot poll waits: %s", exc.reason)
            return 0
        if stored:
            log.info("connector=hubspot poll stored %s deal events", stored)
        return stored

    def _poll(self, since: int, cursor: int | None) -> int:
        stored, after = 0, 0
        while True:
            page = self._search(since, after)
            results = page.get("results") or []
            if results:
                added, cursor = self._store(results, cursor)
                stored += added
            following = ((page.get("paging") or {}).get("next") or {}).get("after")
            if following:
                after = int(following)
                continue
            reached = after + len(results)
            if reached >= MAX_RESULTS and int(page.get("total") or 0) > reached:
                last = cursor if cursor is not None else since
                since, after = (last if last > since else since + 1), 0  # past the cap
                continue
            return stored

    def _search(self, since: int, after: int) -> dict[str, Any]:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": MODIFIED, "operator": "GTE", "value": str(since)}]}
            ],
            "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
            "properties": [MODIFIED],
            "limit": PAGE,
            **({"after": str(after)} if after else {}),
        }
        api = self.client.api("crm.deals.search_api")
        answer = self.client.call(api.do_search, public_object_search_request=body, search=True)
        return answer.to_dict()  # type: ignore[no-any-return]

    def _store(self, results: list[dict[str, Any]], cursor: int | None) -> tuple[int, int | None]:
        """One page's events and the cursor past them, in one transaction."""
        rows, now = [], utcnow()
        for deal in results:
            stamp = modified_ms((deal.get("properties") or {}).get(MODIFIED))
            if stamp is None:
                continue
            rows.append({
                "source": NAME,
                "dedupe_key": f"hubspot:deal:{deal['id']}:{stamp}",
                "crm_id": str(deal["id"]),
                "payload": json.dumps({"kind": "hubspot_ref", "object_id": str(deal["id"])}),
                "received_at": now,
            })  # fmt: skip
            cursor = stamp if cursor is None else max(cursor, stamp)
        with session_scope(self.engine) as session:
            added = add_new_events(session, rows=rows)
            if cursor is not None:
                set_cursor(session, name=NAME, cursor=str(cursor), now=now)
        return added, cursor
