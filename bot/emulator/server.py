"""The HTTP side: `/api/<method>` requests in, JSON answers (or a dropped connection) out.

Requests are parsed the way Slack accepts them: query string, form body
(url-encoded or multipart) and JSON body, merged into one argument dict.
"""

from __future__ import annotations

import json
import logging
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator.dispatch import Dispatcher, Reply, error_reply

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded so a hung call never blocks the others; threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, dispatcher: Dispatcher, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), SlackRequestHandler)
        self.dispatcher = dispatcher


def _form(body: bytes) -> dict[str, Any]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    args: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and not part.get_filename():
            payload = part.get_payload(decode=True) or b""
            args[str(name)] = payload.decode("utf-8", "replace")
    return args


def parse_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query < form < JSON, as one dict; raises ValueError for a JSON body that isn't an object."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return args
    if kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        args.update(data)
    elif kind == "multipart/form-data":
        args.update(_multipart(body, content_type))
    else:
        args.update(_form(body))
    return args


class SlackRequestHandler(BaseHTTPRequestHandler):
    """Turns one HTTP request into one `Dispatcher.handle` call."""

    server: EmulatorHTTPServer
    server_version = "FakeSlack/1.0"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake slack %s", format % args)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not url.path.startswith(API_PREFIX):
            self._send(error_reply("unknown_method", status=404))
            return
        method = url.path[len(API_PREFIX) :]
        bad_body = False
        try:
            args = parse_args(url.query, body, self.headers.get("Content-Type", ""))
        except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            args, bad_body = dict(parse_qsl(url.query, keep_blank_values=True)), True
        token = self._bearer() or args.get("token")
        args.pop("token", None)
        reply = self.server.dispatcher.handle(
            method, args, str(token) if token else None, bad_body=bad_body
        )
        self._send(reply)

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None

    def _send(self, reply: Reply) -> None:
        self.close_connection = True
        if reply.drop:
            return  # the server closes the socket: the client sees no response at all
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            logger.debug("fake slack client went away before the answer")
