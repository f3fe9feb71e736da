"""What a CRM said about a deal, applied: the deal upserted, its contacts merged, the
stage rules run. Webhook events stored by `bot.crm.inbox` reach it through the worker;
the CSV import calls `apply_record` directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.crm.records import DealRecord, RecordError
from bot.crm.webhooks import hubspot_record
from bot.db import session_scope
from bot.flows import readiness, stages
from bot.models import CrmEvent, utcnow
from bot.store.contacts import add_contacts
from bot.store.crm_events import claim_event, pending_events
from bot.store.deals import upsert_deal

log = logging.getLogger(__name__)
BATCH = 200


def process_pending(
    engine: Engine,
    *,
    settings: Settings,
    wake: Callable[[], None],
    lookup_user: readiness.LookupUser | None = None,
) -> int:
    """Apply stored events in arrival order; each is claimed so no two workers apply it."""
    with session_scope(engine) as session:
        ids = pending_events(session, limit=BATCH)
    applied = queued = 0
    for event_id in ids:
        with session_scope(engine) as session:
            event = claim_event(session, event_id=event_id, now=utcnow())
            if event is None:  # another worker has it
                continue
            try:
                with session.begin_nested():
                    queued += apply_event(
                        session, event=event, settings=settings, lookup_user=lookup_user
                    )
            except (RecordError, ValueError, KeyError) as exc:
                event.error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("crm_event=%s not applied: %s", event_id, event.error)
            applied += 1
    if queued:
        wake()
    return applied


def apply_event(
    session: Session,
    *,
    event: CrmEvent,
    settings: Settings,
    lookup_user: readiness.LookupUser | None = None,
) -> int:
    """Apply one stored event; returns 1 when it queued an introduction."""
    payload = json.loads(event.payload)
    if payload["kind"] == "record":
        record = DealRecord.from_json(payload["record"])
    else:
        record = hubspot_record(event.crm_id, payload)
    return apply_record(
        session, record=record, source=event.source, settings=settings, lookup_user=lookup_user
    )


def apply_record(
    session: Session,
    *,
    record: DealRecord,
    source: str,
    settings: Settings,
    lookup_user: readiness.LookupUser | None = None,
) -> int:
    """Upsert the deal, merge its contacts, settle its AE (`lookup_user`: the CRM owner's
    email to a Slack user, a Slack call, so only the worker passes one), then apply the
    stage rules like any change. Returns how many introductions it queued."""
    deal = upsert_deal(
        session, crm_id=record.crm_id, company=record.company, amount=record.amount,
        close_date=record.close_date, owner_email=record.owner_email,
        engineer_email=record.engineer_email, notes=record.notes,
        watched=True if settings.auto_watch else None,
    )  # fmt: skip
    add_contacts(session, deal=deal, emails=record.contacts)
    released = readiness.recorded(
        session, deal=deal, record=record, settings=settings, lookup_user=lookup_user
    )
    if not record.stage:
        return released
    outcome = stages.record_stage(
        session, deal=deal, label=record.stage, source=source, settings=settings
    )
    return released + int(outcome.queued)
