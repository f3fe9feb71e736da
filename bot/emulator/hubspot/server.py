"""HubSpot's HTTP server: the shared JSON server (`bot.emulator.common.json_http`) with
HubSpot's name and its PUT; what a request means is `dispatch.Dispatcher`'s."""

from __future__ import annotations

from bot.emulator.common.json_http import FakeHTTPServer, JSONRequestHandler
from bot.emulator.hubspot.dispatch import Dispatcher


class HubSpotRequestHandler(JSONRequestHandler):
    server_version = "FakeHubSpot/1.0"
    log_name = "fake hubspot"
    content_type = "application/json;charset=utf-8"

    def do_PUT(self) -> None:
        self._handle("PUT")


class HubSpotHTTPServer(FakeHTTPServer):
    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__(dispatcher, HubSpotRequestHandler)
