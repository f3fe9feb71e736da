"""What a CRM said about a deal, applied: the deal upserted, its contacts merged, the
stage rules run. Webhook events stored by `bot.crm.inbox` (and the connectors' polls)
reach it through the worker; the CSV import calls `apply_record` directly.

With a connector for the event's CRM, an event only says *that* a deal changed: the
deal is read from the CRM first (`CrmConnector.read_deal`), outside any database
transaction (SQLite has one writer: an HTTP call never holds it), and the record is
then applied in a short one. A CRM that cannot answer leaves the event pending, to be
tried at a later pass; the other events go on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.crm.connector import ConnectorUnavailable, CrmConnector
from bot.crm.records import DealRecord, RecordError
from bot.crm.webhooks import hubspot_record
from bot.db import session_scope
from bot.flows import readiness, stages
from bot.models import CrmEvent, utcnow
from bot.store.contacts import add_contacts
from bot.store.crm_events import claim_event, pending_event, pending_events
from bot.store.deals import get_deal, upsert_deal

log = logging.getLogger(__name__)
BATCH = 200
NO_CONNECTORS: Mapping[str, CrmConnector] = MappingProxyType({})
# Which connector completes a stored event, by the event's `kind`.
CONNECTOR_OF_KIND = {"hubspot": "hubspot", "hubspot_ref": "hubspot"}
OWNER = "owner"  # an event's kind: match the deal's owner email to its AE (bot.flows.imports)
# Events that carry the CRM's own read of the whole deal (the Salesforce poll's).
WHOLE_RECORD_KINDS = frozenset({"salesforce"})


class _Outages:
    """The connectors this process found unavailable: logged when one goes, and once
    when it answers again, not at every pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: set[str] = set()

    def down(self, name: str, reason: str) -> None:
        with self._lock:
            first = name not in self._down
            self._down.add(name)
        if first:
            log.warning("connector=%s unavailable, its events wait: %s", name, reason)

    def up(self, name: str) -> None:
        with self._lock:
            was_down = name in self._down
            self._down.discard(name)
        if was_down:
            log.info("connector=%s answers again, its waiting events go on", name)


OUTAGES = _Outages()


def process_pending(
    engine: Engine,
    *,
    settings: Settings,
    wake: Callable[[], None],
    connectors: Mapping[str, CrmConnector] = NO_CONNECTORS,
    lookup_user: readiness.LookupUser | None = None,
) -> int:
    """Apply stored events in arrival order, up to BATCH a pass; each is claimed so no
    two workers apply it. Events waiting for an unavailable CRM are stepped over."""
    applied = queued = after = 0
    down: set[str] = set()  # asked once a pass: the rest of its events wait at once
    while applied < BATCH:
        with session_scope(engine) as session:
            ids = pending_events(session, limit=BATCH, after=after)
        for event_id in ids:
            after = event_id or after
            result = _process_one(engine, event_id, settings, connectors, down, lookup_user)
            if result is not None:
                applied += 1
                queued += result
        if len(ids) < BATCH:
            break
    if queued:
        wake()
    return applied


def _process_one(
    engine: Engine,
    event_id: int | None,
    settings: Settings,
    connectors: Mapping[str, CrmConnector],
    down: set[str],
    lookup_user: readiness.LookupUser | None = None,
) -> int | None:
    """1 when the event queued an introduction, 0 when applied, None when it waits (or
    another worker has it)."""
    with session_scope(engine) as session:  # a read: no write lock is taken
        event = pending_event(session, event_id=event_id)
        if event is None:
            return None
        crm_id, kind = event.crm_id, _payload(event).get("kind")
    name = CONNECTOR_OF_KIND.get(str(kind))
    connector = connectors.get(name) if name else None
    record, failure = None, None
    if connector is not None:
        if connector.name in down:
            return None
        try:
            record = connector.read_deal(crm_id)  # no transaction is open here
        except ConnectorUnavailable as exc:
            down.add(connector.name)
            OUTAGES.down(connector.name, exc.reason)
            return None
        except Exception as exc:  # a bad answer: recorded on the event, never retried blind
            log.exception("crm_event=%s connector=%s read failed", event_id, connector.name)
            failure = f"{type(exc).__name__}: {exc}"
        else:
            OUTAGES.up(connector.name)
    with session_scope(engine) as session:
        event = claim_event(session, event_id=event_id, now=utcnow())
        if event is None:  # another worker has it
            return None
        if failure is not None:
            event.error = failure[:500]
            return 0
        try:
            with session.begin_nested():
                return apply_event(session, event=event, settings=settings, record=record,
                                   lookup_user=lookup_user)  # fmt: skip
        except (RecordError, ValueError, KeyError) as exc:
            event.error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("crm_event=%s not applied: %s", event_id, event.error)
            return 0


def _payload(event: CrmEvent) -> dict[str, Any]:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def apply_event(
    session: Session,
    *,
    event: CrmEvent,
    settings: Settings,
    record: DealRecord | None = None,
    lookup_user: readiness.LookupUser | None = None,
) -> int:
    """Apply one stored event, or the `record` its CRM gave for it; returns 1 when it
    queued an introduction."""
    payload = json.loads(event.payload)
    if record is None and payload.get("kind") in WHOLE_RECORD_KINDS:
        record = DealRecord.from_json(payload["record"])  # a poll that read all of the deal
    if record is not None:  # the CRM's word on the deal now, whatever the event said
        record = replace(record, crm_id=event.crm_id)
        if record.deleted:
            return apply_deletion(session, crm_id=event.crm_id)
        return apply_record(session, record=record, source=event.source, settings=settings,
                            restore=True, lookup_user=lookup_user)  # fmt: skip
    kind = payload["kind"]
    if kind == "record":
        record = DealRecord.from_json(payload["record"])
        return apply_record(session, record=record, source=event.source, settings=settings,
                            lookup_user=lookup_user)  # fmt: skip
    if kind == OWNER:
        return resolve_owner(session, crm_id=event.crm_id, lookup_user=lookup_user)
    if kind != "hubspot":  # a poll's reference: nothing to act on without its connector
        return 0
    happened = payload.get("event") or ("property" if "property" in payload else "creation")
    if happened == "deletion":
        return apply_deletion(session, crm_id=event.crm_id)
    if happened == "association":  # which company or contact: only the CRM can say
        return 0
    record = hubspot_record(event.crm_id, payload)
    return apply_record(session, record=record, source=event.source, settings=settings,
                        lookup_user=lookup_user)  # fmt: skip


def resolve_owner(
    session: Session, *, crm_id: str, lookup_user: readiness.LookupUser | None
) -> int:
    """A deal recorded where no Slack call is made (the CSV import): its owner's email
    matched to a Slack user as its AE, here in the worker, as for any CRM record."""
    deal = get_deal(session, crm_id=crm_id)
    if deal is not None:
        readiness.resolve_ae(session, deal=deal, lookup_user=lookup_user)
    return 0


def apply_deletion(session: Session, *, crm_id: str) -> int:
    """The CRM deleted the deal: the deletion rule (`stages.record_deletion`)."""
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        return 0
    outcome = stages.record_deletion(session, deal=deal, now=utcnow())
    log.info("deal=%s deleted in the CRM: %s", crm_id, outcome.message)
    return 0


def apply_record(
    session: Session,
    *,
    record: DealRecord,
    source: str,
    settings: Settings,
    restore: bool = False,
    lookup_user: readiness.LookupUser | None = None,
    watched: bool | None = None,
) -> int:
    """Upsert the deal, merge its contacts, settle its AE (`lookup_user`: the CRM owner's
    email to a Slack user, a Slack call, so only the worker passes one), then apply the
    stage rules like any change. Returns how many introductions it queued.

    `restore`: the record is the CRM's own read, so a deal it still has is not deleted.
    `watched`: the source says whether the deal is watched (a CSV's column); None: it
    does not (watched then only with CARE_AUTO_WATCH=all)."""
    if watched is None and settings.auto_watch:
        watched = True
    deal = upsert_deal(
        session, crm_id=record.crm_id, company=record.company, amount=record.amount,
        close_date=record.close_date, owner_email=record.owner_email,
        engineer_email=record.engineer_email, notes=record.notes,
        source=(record.source or source)[:16], watched=watched,
    )  # fmt: skip
    if restore and deal.deleted_at is not None:
        deal.deleted_at = None
    add_contacts(session, deal=deal, emails=record.contacts)
    released = readiness.recorded(
        session, deal=deal, record=record, settings=settings, lookup_user=lookup_user
    )
    label = record.stage or record.stage_id
    if not label:
        return released
    outcome = stages.record_stage(
        session, deal=deal, label=label, source=source, settings=settings,
        stage_id=record.stage_id or "", pipeline=record.pipeline or "",
        status=record.stage_status, probability=record.probability,
    )  # fmt: skip
    return released + int(outcome.queued)
