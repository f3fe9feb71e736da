"""CRM events are stored here before the webhook answers; `bot.flows.crm_news` applies
them in the worker.

Storing is one INSERT … ON CONFLICT DO NOTHING on the dedupe key
(`bot.store.crm_events`), so a repeated delivery is recognised by the database itself,
even when two arrive at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlmodel import Session

from bot.crm.webhooks import InboxItem
from bot.models import utcnow
from bot.store.crm_events import add_new_events


def store(session: Session, items: Sequence[InboxItem]) -> int:
    """Insert the new events; returns how many were new (the rest were repeats)."""
    rows = [
        {"source": i.source, "dedupe_key": i.dedupe_key, "crm_id": i.crm_id,
         "payload": json.dumps(i.payload), "received_at": utcnow()}
        for i in items
    ]  # fmt: skip
    return add_new_events(session, rows=rows)
