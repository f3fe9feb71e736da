"""The baseline: a bare slack-bolt app on CareIntro's server stack, with an ack-only listener.

Same stack as `careintro serve`: Bolt's Flask adapter under waitress, same thread count,
same signing secret (request verification on, token verification off, as CareIntro).

Usage: SLACK_API_URL=http://127.0.0.1:P/api/ python bench/bare_bolt_app.py --port N [--threads 8]

Bolt calls auth.test once, at the first request: SLACK_API_URL must answer it (the
benchmarks point it at the local Slack emulator).
"""

from __future__ import annotations

import argparse
import os

from flask import Flask, jsonify, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

# Shared with bench/_common.py, defined here so the baseline imports nothing of CareIntro.
SIGNING_SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
THREADS = 8  # waitress threads: HttpServer's default, what `careintro serve` runs


def build(api_url: str) -> Flask:
    bolt = App(
        client=WebClient(token=TOKEN, base_url=api_url),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
    )

    @bolt.command("/introduce-care")
    def ack_only(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(bolt)
    web = Flask("bare-bolt")

    @web.post("/slack/events")
    def slack_events():  # type: ignore[no-untyped-def]
        return handler.handle(request)

    @web.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    return web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--api-url", default=os.environ.get("SLACK_API_URL", ""), required=False)
    args = parser.parse_args()
    create_server(build(args.api_url), host="127.0.0.1", port=args.port, threads=args.threads).run()


if __name__ == "__main__":
    main()
