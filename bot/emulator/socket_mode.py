"""Socket Mode's WebSocket side, as Slack runs it (api.slack.com/apis/connections/socket).

`apps.connections.open` hands out a one-use `ws://127.0.0.1:PORT/link/?ticket=…` URL;
on connecting, the app gets `hello`; then envelopes (`events_api`, `slash_commands`,
`interactive`), each to be acked with `{"envelope_id": …}` (and, where the envelope
`accepts_response_payload`, a `payload`) within 3 s. An unacked Events API envelope is
sent again with `retry_attempt`/`retry_reason`, on Slack's schedule; a command or an
interaction is not (the person sees an error). `disconnect` asks the app to reconnect.

Uses the `websockets` library (a test dependency), imported only when a Socket Mode
client first asks for a URL: the emulator's HTTP side needs nothing but the stdlib.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection

logger = logging.getLogger(__name__)

ACK_TIMEOUT = 3.0  # seconds Slack waits for an ack
EVENT_RETRIES = (0.0, 60.0, 300.0)  # Events API: nearly at once, after 1 minute, after 5
DISCONNECT_GRACE = 10.0  # seconds between `disconnect` and Slack closing the connection
HOST = "applink-fake-1"  # `debug_info.host`, as Slack names its link servers


@dataclass
class SocketAck:
    """What became of one envelope: acked or not, the ack's payload, attempts made."""

    envelope_id: str
    type: str
    acked: bool = False
    payload: dict[str, Any] | None = None
    attempts: int = 0
    retry_reasons: list[str] = field(default_factory=list)


@dataclass
class _Link:
    connection: ServerConnection
    draining: bool = False  # told to disconnect: new envelopes go elsewhere


class SocketModeServer:
    """The WebSocket server of one fake app; thread-safe, started on the first link."""

    def __init__(self, *, app_id: str, time_scale: float = 1.0) -> None:
        self.app_id = app_id
        self.time_scale = time_scale
        self.connections_opened = 0
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------------

    def link(self) -> str:
        """A new one-use URL (what apps.connections.open answers)."""
        with self._cond:
            if self._server is None:
                self._start()
            assert self._server is not None
            ticket = uuid.uuid4().hex
            self._tickets.add(ticket)
            port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.app_id}"

    def _start(self) -> None:
        from websockets.sync.server import serve

        self._server = serve(self._serve_connection, "127.0.0.1", 0,
                             process_request=self._check_ticket, compression=None)  # fmt: skip
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack-socket", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Slack going away: every connection is closed (the app will reconnect)."""
        with self._cond:
            server, self._server = self._server, None
            self._tickets.clear()
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def connected(self) -> int:
        with self._cond:
            return len(self._links)

    def wait_connected(self, opened: int, timeout: float = 30) -> None:
        """Until `opened` connections have been made in all and one is open to take envelopes."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: self.connections_opened >= opened and self._ready() is not None,
                timeout=timeout,
            ):
                raise TimeoutError(f"no Socket Mode connection #{opened} within {timeout} s")

    # one connection -------------------------------------------------------------------

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse the upgrade for a URL that was not handed out, or was used already."""
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._cond:
            if url.path.rstrip("/") == "/link" and ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
        return connection.respond(401, "invalid or used Socket Mode ticket\n")

    def _serve_connection(self, connection: ServerConnection) -> None:
        """`hello` first, then acks in; envelopes go out from `deliver`'s threads."""
        link = _Link(connection)
        with self._cond:
            hello = {
                "type": "hello",
                "num_connections": len(self._links) + 1,
                "debug_info": {
                    "host": HOST,
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        try:
            connection.send(json.dumps(hello))
            with self._cond:
                self._links.append(link)
                self.connections_opened += 1
                self._cond.notify_all()
            for message in connection:
                self._on_message(message)
        except Exception as exc:  # a dropped link ends here; an unacked event is sent again
            logger.debug("fake socket connection ended: %r", exc)
        finally:
            with self._cond:
                if link in self._links:
                    self._links.remove(link)
                self._cond.notify_all()

    def _on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            logger.warning("fake socket: not JSON from the app: %r", message[:200])
            return
        if not isinstance(data, dict) or "envelope_id" not in data:
            return
        with self._cond:
            self._acks[str(data["envelope_id"])] = data
            self._cond.notify_all()

    # envelopes ------------------------------------------------------------------------

    def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retries: tuple[float, ...] = (),
        ack_timeout: float = ACK_TIMEOUT,
    ) -> SocketAck:
        """Send one envelope and wait for its ack; `retries`: the waits before each resend."""
        result = SocketAck(envelope_id=str(uuid.uuid4()), type=kind)
        envelope: dict[str, Any] = {
            "envelope_id": result.envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        for wait in (None, *retries):
            if wait is not None:
                reason = "timeout"
                result.retry_reasons.append(reason)
                time.sleep(wait / self.time_scale)
                envelope |= {"retry_attempt": len(result.retry_reasons), "retry_reason": reason}
            elif kind == "events_api":
                envelope |= {"retry_attempt": 0, "retry_reason": ""}
            result.attempts += 1
            ack = self._send_and_wait(envelope, ack_timeout)
            if ack is not None:
                result.acked, result.payload = True, ack.get("payload")
                return result
        return result

    def _send_and_wait(self, envelope: dict[str, Any], ack_timeout: float) -> dict[str, Any] | None:
        """The ack, or None when none came within `ack_timeout` (no connection counts)."""
        deadline = time.monotonic() + ack_timeout
        envelope_id = envelope["envelope_id"]
        with self._cond:
            if envelope_id not in self._acks:  # else: a late ack of the attempt before
                self._cond.wait_for(lambda: self._ready() is not None, timeout=ack_timeout)
                link = self._ready()
                if link is None:
                    return None
                try:
                    link.connection.send(json.dumps(envelope))
                except Exception as exc:  # closed under us: this attempt is lost, like Slack's
                    logger.debug("fake socket: send failed: %r", exc)
                    return None
                self._cond.wait_for(lambda: envelope_id in self._acks,
                                    timeout=max(0.0, deadline - time.monotonic()))  # fmt: skip
            return self._acks.pop(envelope_id, None)

    def _ready(self) -> _Link | None:
        """The newest connection not told to go (call under the lock)."""
        return next((link for link in reversed(self._links) if not link.draining), None)

    def disconnect(self, reason: str = "refresh_requested", *,
                   grace: float = DISCONNECT_GRACE) -> int:  # fmt: skip
        """Send `disconnect` on every open connection and close them after `grace`
        seconds (the app should have opened a new one by then); returns how many."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
        with self._cond:
            links = [link for link in self._links if not link.draining]
            for link in links:
                link.draining = True
        for link in links:
            try:
                link.connection.send(message)
            except Exception as exc:
                logger.debug("fake socket: disconnect not sent: %r", exc)
            timer = threading.Timer(grace / self.time_scale, link.connection.close)
            timer.daemon = True
            timer.start()
        return len(links)
