"""The HTTP surface: Slack's requests, CRM webhooks and the health check."""

from __future__ import annotations

from flask import Flask, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine

from bot.db import ping


def create_web_app(bolt_app: App, engine: Engine) -> Flask:
    web = Flask("careintro")
    slack = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events():  # type: ignore[no-untyped-def]
        return slack.handle(request)

    @web.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        if ping(engine):
            return jsonify(ok=True, db="ok")
        return jsonify(ok=False, db="unreachable"), 503

    return web
