"""The HTTP(S) side: requests in, JSON answers (or a dropped connection) out.

Like the other fakes: threaded, bound to 127.0.0.1 on an OS-chosen port, one request per
connection, and a "drop" closes the socket without a status line. With TLS the
handshake runs in the request's own thread (not in `accept`), so one stalled client
never holds up the others.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.emulator.salesforce.dispatch import Dispatcher, Incoming, Reply

logger = logging.getLogger(__name__)


class SalesforceHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, dispatcher: Dispatcher, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), SalesforceRequestHandler)
        self.dispatcher, self.context = dispatcher, context

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        try:  # the TLS socket takes the descriptor over: close it here, not the raw one
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:  # a client that does not trust us, say
            logger.debug("fake salesforce TLS handshake failed: %s", exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("fake salesforce connection error from %s", client_address, exc_info=True)


class SalesforceRequestHandler(BaseHTTPRequestHandler):
    server: SalesforceHTTPServer
    server_version = "FakeSalesforce/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake salesforce %s", format % args)

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
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            logger.debug("fake salesforce client went away before the answer")

    def _abort(self) -> None:
        """Close with nothing sent: the client sees the connection end with no answer."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
