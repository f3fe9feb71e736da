"""The HTTP side: CRM API requests in, JSON answers (or a dropped connection) out.

Like the Slack emulator's server: threaded, bound to 127.0.0.1 on an OS-chosen port,
one connection per request, and a "drop" closes the socket without a status line.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.emulator.hubspot.dispatch import BAD_JSON, Dispatcher, Reply

logger = logging.getLogger(__name__)


class HubSpotHTTPServer(ThreadingHTTPServer):
    """Threaded so a slow call never blocks the others; threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__(("127.0.0.1", 0), HubSpotRequestHandler)
        self.dispatcher = dispatcher


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return BAD_JSON


class HubSpotRequestHandler(BaseHTTPRequestHandler):
    server: HubSpotHTTPServer
    server_version = "FakeHubSpot/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake hubspot %s", format % args)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = parse_body(self.rfile.read(length) if length else b"")
        query = parse_qs(url.query, keep_blank_values=True)
        reply = self.server.dispatcher.handle(
            method, unquote(url.path), query, body, self._bearer()
        )
        self._send(reply)

    def _bearer(self) -> str | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        return value.strip() or None if scheme.lower() == "bearer" else None

    def _send(self, reply: Reply) -> None:
        self.close_connection = True
        if reply.drop:
            return  # the socket closes: the client sees no response at all
        payload = reply.encoded()
        try:
            self.send_response(reply.status)
            if reply.body is not None:
                self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            logger.debug("fake hubspot client went away before the answer")
