"""Salesforce's HTTP(S) server: the shared JSON server (`bot.emulator.common.json_http`)
with Salesforce's name and content type, optionally behind TLS.

With TLS the handshake runs in the request's own thread (not in `accept`), so one
stalled client never holds up the others. The `Date` header every answer carries (RFC
9110 §6.6.1) is read from the org's clock, so a client can tell the server's time even
when a test has moved it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

from bot.emulator.common.json_http import FakeHTTPServer, JSONRequestHandler
from bot.emulator.salesforce.dispatch import Dispatcher

logger = logging.getLogger(__name__)


class SalesforceRequestHandler(JSONRequestHandler):
    server_version = "FakeSalesforce/1.0"
    log_name = "fake salesforce"
    content_type = "application/json;charset=UTF-8"
    server: SalesforceHTTPServer

    def date_time_string(self, timestamp: float | None = None) -> str:
        return super().date_time_string(self.server.clock() if timestamp is None else timestamp)


class SalesforceHTTPServer(FakeHTTPServer):
    def __init__(
        self, dispatcher: Dispatcher, context: ssl.SSLContext | None, clock: Callable[[], float]
    ) -> None:
        super().__init__(dispatcher, SalesforceRequestHandler)
        self.context, self.clock = context, clock

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
