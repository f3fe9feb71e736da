"""The HTTP surface: Slack's requests, CRM webhooks and the health check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.crm import inbox
from bot.crm.salesforce import outbound
from bot.crm.webhooks import (
    BodyError,
    InboxItem,
    SignatureError,
    read_generic,
    read_hubspot,
    verify_generic,
    verify_hubspot,
)
from bot.db import schema_state, session_scope
from bot.models import utcnow
from bot.store import connectors, nodes

MAX_BODY_BYTES = 5 * 1024 * 1024


def public_url(settings: Settings, req: Request) -> str:
    """The URL HubSpot called: PUBLIC_URL, or rebuilt from proxy headers, with the path
    and query as they came on the request line (still percent-encoded, as HubSpot has
    them before it decodes the few its signature decodes)."""
    path = _raw_path(req)
    if settings.public_url:
        return settings.public_url + path
    proto = req.headers.get("X-Forwarded-Proto", req.scheme).split(",")[0].strip()
    host = req.headers.get("X-Forwarded-Host") or req.headers.get("Host", "")
    return f"{proto}://{host.split(',')[0].strip()}{path}"


def _raw_path(req: Request) -> str:
    """The request line's target (waitress and werkzeug give `REQUEST_URI`); the WSGI
    `PATH_INFO` is already decoded, so it is the fallback only."""
    raw = req.environ.get("REQUEST_URI") or req.environ.get("RAW_URI") or ""
    if raw.startswith(("http://", "https://")):  # absolute-form target
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    return raw.rstrip("?") if raw.startswith("/") else req.full_path.rstrip("?")


def create_web_app(bolt_app: App, engine: Engine, settings: Settings, hand_off: Callable[[], None],
                   *, slack_events: bool = True) -> Flask:  # fmt: skip
    """`slack_events=False` (Socket Mode): no /slack/events at all, so a 404. That app
    checks no signatures, since Slack's requests come over the socket."""
    web = Flask("careintro")
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if slack_events:
        slack = SlackRequestHandler(bolt_app)

        @web.post("/slack/events")
        def slack_events_route():  # type: ignore[no-untyped-def]
            return slack.handle(request)

    @web.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        body, status = health(engine)
        return jsonify(body), status

    add_crm_webhooks(web, engine, settings, hand_off)
    return web


def health(engine: Engine) -> tuple[dict[str, Any], int]:
    """200 only when the database answers at the code's schema (every command works);
    503 with the reason otherwise. A failing CRM connector is reported but keeps it 200:
    Slack's traffic is still served, and a restart would not mend a refused credential."""
    db = schema_state(engine)
    if db != "ok":
        return {"ok": False, "db": db}, 503
    try:
        with session_scope(engine) as session:
            heartbeat = nodes.last_heartbeat(session)
            states = [
                {"name": c.name, "state": c.state, "reason": c.reason, "since": _iso(c.since)}
                for c in connectors.states(session)
            ]
    except SQLAlchemyError:
        return {"ok": False, "db": "unreachable"}, 503
    now = datetime.now(UTC)
    worker = {
        "last_heartbeat": _iso(heartbeat),
        "seconds_ago": round((now - _utc(heartbeat)).total_seconds(), 1) if heartbeat else None,
    }
    return {"ok": True, "db": "ok", "worker": worker, "connectors": states}, 200


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return _utc(moment).isoformat() if moment else None


def add_crm_webhooks(web: Flask, engine: Engine, settings: Settings,
                     hand_off: Callable[[], None]) -> None:  # fmt: skip
    """`/crm/webhook` and `/crm/hubspot`: checked, stored, then answered;
    `/crm/salesforce`: checked, then the poll is made due (`bot.crm.salesforce.outbound`)."""

    def accept(items: list[InboxItem], warnings: list[str], ignored: int = 0):  # type: ignore[no-untyped-def]
        """Store durably, then answer: a crash after the answer loses nothing."""
        with session_scope(engine) as session:
            new = inbox.store(session, items)
        if new:
            hand_off()
        return jsonify(ok=True, accepted=len(items), ignored=ignored, new=new,
                       duplicates=len(items) - new, warnings=warnings)  # fmt: skip

    @web.post("/crm/webhook")
    def crm_webhook():  # type: ignore[no-untyped-def]
        if not settings.crm_webhook_secret:
            return jsonify(ok=False, error="CRM_WEBHOOK_SECRET is not set"), 503
        body = request.get_data()
        try:
            verify_generic(settings.crm_webhook_secret, request.headers, body)
        except SignatureError as exc:
            return jsonify(ok=False, error=str(exc)), 401
        try:
            items, warnings = read_generic(body)
        except BodyError as exc:
            return jsonify(ok=False, error=str(exc)), 400
        return accept(items, warnings)

    @web.post("/crm/hubspot")
    def crm_hubspot():  # type: ignore[no-untyped-def]
        if not settings.hubspot_client_secret:
            return jsonify(ok=False, error="HUBSPOT_CLIENT_SECRET is not set"), 503
        body = request.get_data()
        try:
            verify_hubspot(settings.hubspot_client_secret, request.headers, body, method="POST",
                           url=public_url(settings, request))  # fmt: skip
        except SignatureError as exc:
            return jsonify(ok=False, error=str(exc)), 401
        try:
            batch = read_hubspot(body)
        except BodyError as exc:
            return jsonify(ok=False, error=str(exc)), 400
        return accept(batch.items, [], batch.ignored)

    @web.post("/crm/salesforce")
    def crm_salesforce():  # type: ignore[no-untyped-def]
        """An Outbound Message: the org checked, the next poll made due, then the Ack."""
        if not (settings.salesforce_instance_url and settings.salesforce_org_id):
            return _soap(outbound.fault("the Salesforce connector and SALESFORCE_ORG_ID must "
                                        "be set for Outbound Messages"), 503)  # fmt: skip
        try:
            sent = outbound.read_notifications(request.get_data())
        except outbound.OutboundError as exc:
            return _soap(outbound.fault(str(exc)), 400)
        if not outbound.same_org(settings.salesforce_org_id, sent.org_id):
            return _soap(outbound.fault("OrganizationId is not SALESFORCE_ORG_ID"), 403)
        if sent.opportunity_ids:
            with session_scope(engine) as session:
                connectors.poll_now(session, name="salesforce", now=utcnow())
            hand_off()
        return _soap(outbound.ACK, 200)


def _soap(body: str, status: int) -> Response:
    return Response(body, status=status, content_type="text/xml; charset=utf-8")
