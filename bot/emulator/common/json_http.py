"""The HTTP side of a CRM fake: requests in, JSON answers (or a dropped connection) out.

Like the Slack emulator's server: threaded, bound to 127.0.0.1 on an OS-chosen port, one
request per connection, and a "drop" closes the socket without a status line. Each
vendor subclasses the handler for its name, its methods and its JSON content type; what
the request means is up to the vendor's dispatcher (`Dispatcher.handle`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    """One request as it arrived: the dispatcher decides what the body and headers mean."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw: bytes


@dataclass
class Reply:
    """The answer: a JSON body (None sends none), extra headers, or `drop` for no answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


class _BadJson:
    """Marks a body that was not JSON; each vendor answers it in its own words."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _BadJson:
        return self  # stays the one marker when a call log copies the body


BAD_JSON: Any = _BadJson()


def parse_json(raw: bytes) -> Any:
    """The JSON body, None for an empty one, `BAD_JSON` for one that does not parse."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return BAD_JSON


class Dispatcher(Protocol):
    def handle(self, incoming: Incoming) -> Reply: ...


class FakeHTTPServer(ThreadingHTTPServer):
    """Threaded so a slow call never blocks the others; threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, dispatcher: Dispatcher, handler: type[JSONRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.dispatcher = dispatcher


class JSONRequestHandler(BaseHTTPRequestHandler):
    """GET, POST, PATCH and DELETE go to the dispatcher; a vendor adds the methods it has
    more (an unknown method answers 501, as BaseHTTPRequestHandler does)."""

    server: FakeHTTPServer
    protocol_version = "HTTP/1.1"
    log_name = "fake"  # "fake hubspot": the prefix of this fake's debug log lines
    content_type = "application/json;charset=utf-8"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.log_name, format % args)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        incoming = Incoming(
            method,
            unquote(url.path),
            parse_qs(url.query, keep_blank_values=True),
            {name.lower(): value for name, value in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        self._send(self.server.dispatcher.handle(incoming))

    def _send(self, reply: Reply) -> None:
        self.close_connection = True
        if reply.drop:
            self._abort()
            return
        payload = reply.encoded()
        try:
            self.send_response(reply.status)
            if reply.body is not None:
                self.send_header("Content-Type", self.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            logger.debug("%s client went away before the answer", self.log_name)

    def _abort(self) -> None:
        """Close with nothing sent: the client sees the connection end with no answer."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
