"""The emulator's Socket Mode, driven by a bare WebSocket client (the `websockets`
library, not slack-sdk): the URL, `hello`, envelopes, acks, retries and `disconnect`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bot.emulator import FakeSlack
from bot.emulator.socket_mode import ACK_TIMEOUT, EVENT_RETRIES
from tests.emulator.helpers import error_of

Answer = Callable[[dict[str, Any]], dict[str, Any] | None]


class App:
    """A minimal Socket Mode app: records every message, acks as `answer` says."""

    def __init__(self, fake: FakeSlack, answer: Answer = lambda e: {}) -> None:
        self.url = WebClient(base_url=fake.url).apps_connections_open(app_token=fake.app_token)[
            "url"
        ]
        self.received: list[dict[str, Any]] = []
        self.answer = answer
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.connected.wait(10)

    def _run(self) -> None:
        with connect(self.url) as ws:
            self.ws: ClientConnection = ws
            self.connected.set()
            try:
                for raw in ws:
                    message = json.loads(raw)
                    self.received.append(message)
                    reply = self.answer(message) if "envelope_id" in message else None
                    if reply is not None:
                        ws.send(json.dumps({"envelope_id": message["envelope_id"], **reply}))
            except ConnectionClosed:
                pass

    def envelopes(self) -> list[dict[str, Any]]:
        return [m for m in self.received if "envelope_id" in m]


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[App]:
    client = App(fake)
    fake.wait_for_socket(1)
    yield client
    client.ws.close()


def test_apps_connections_open_takes_an_app_level_token_only(fake):
    client = WebClient(base_url=fake.url)
    assert error_of(client.apps_connections_open, app_token=None) == "not_authed"
    assert error_of(client.apps_connections_open, app_token=fake.bot_token) == (
        "not_allowed_token_type"
    )
    assert error_of(client.apps_connections_open, app_token="xapp-1-A1-2-nope") == "invalid_auth"
    as_app = WebClient(token=fake.app_token, base_url=fake.url)
    assert error_of(as_app.chat_postMessage, channel="U_AE", text="hi") == "not_allowed_token_type"
    url = client.apps_connections_open(app_token=fake.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:") and "/link/?ticket=" in url


def test_hello_first_and_each_url_works_once(fake):
    url = WebClient(base_url=fake.url).apps_connections_open(app_token=fake.app_token)["url"]
    with connect(url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello == {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": "A_FAKEAPP"},
        }
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(url.split("?")[0] + "?ticket=made-up")


def test_a_command_envelope_and_its_ack_payload(fake):
    answer = {"payload": {"response_type": "ephemeral", "text": "done"}}
    client = App(fake, answer=lambda envelope: answer)
    fake.wait_for_socket(1)
    ack = fake.socket_command("/hello", "a b", user_id="U_AE")
    assert ack.acked and ack.attempts == 1 and ack.payload == answer["payload"]
    [envelope] = client.envelopes()
    assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"] is True
    assert envelope["envelope_id"] == ack.envelope_id and "retry_attempt" not in envelope
    assert envelope["payload"]["command"] == "/hello" and envelope["payload"]["text"] == "a b"
    assert envelope["payload"]["user_id"] == "U_AE" and envelope["payload"]["trigger_id"]
    client.ws.close()


def test_an_unacked_command_is_not_sent_again(fake):
    client = App(fake, answer=lambda envelope: None)
    fake.wait_for_socket(1)
    started = time.monotonic()
    ack = fake.socket_command("/hello", user_id="U_AE")
    assert not ack.acked and ack.attempts == 1
    assert time.monotonic() - started == pytest.approx(ACK_TIMEOUT, abs=1)
    assert len(client.envelopes()) == 1
    client.ws.close()


def test_an_unacked_event_is_retried_on_slacks_schedule():
    """At the default schedule (0 s, 1 min, 5 min after each missed ack), on a clock 100
    times fast: the first two go unacked, the third is acked."""
    assert EVENT_RETRIES == (0.0, 60.0, 300.0)
    with FakeSlack(time_scale=100) as fake:
        seen: list[float] = []

        def third_only(envelope: dict[str, Any]) -> dict[str, Any] | None:
            seen.append(time.monotonic())
            return {} if len(seen) == 3 else None

        client = App(fake, answer=third_only)
        fake.wait_for_socket(1)
        ack = fake.socket_event({"type": "app_home_opened", "user": "U1", "tab": "home"})
        assert ack.acked and ack.attempts == 3 and ack.retry_reasons == ["timeout", "timeout"]
        envelopes = client.envelopes()
        assert [e["retry_attempt"] for e in envelopes] == [0, 1, 2]
        assert [e["retry_reason"] for e in envelopes] == ["", "timeout", "timeout"]
        assert len({e["envelope_id"] for e in envelopes}) == 1
        assert len({e["payload"]["event_id"] for e in envelopes}) == 1  # the same event
        assert envelopes[0]["type"] == "events_api" and not envelopes[0]["accepts_response_payload"]
        assert seen[1] - seen[0] == pytest.approx(ACK_TIMEOUT, abs=1)
        assert seen[2] - seen[1] == pytest.approx(ACK_TIMEOUT + 60 / 100, abs=1)
        client.ws.close()


def test_a_view_submission_may_answer_in_its_ack(fake, app):
    errors = {"response_action": "errors", "errors": {"b": "wrong"}}
    app.answer = lambda envelope: {"payload": errors}
    opened = WebClient(token=fake.bot_token, base_url=fake.url).views_open(
        trigger_id="1.2.3",
        view={
            "type": "modal",
            "callback_id": "cb",
            "title": {"type": "plain_text", "text": "T"},
            "blocks": [],
        },
    )
    values = {"b": {"a": {"type": "plain_text_input", "value": "x"}}}
    ack = fake.socket_submit_view(opened["view"]["id"], values, user_id="U_AE")
    assert ack.acked and ack.payload == errors
    [envelope] = app.envelopes()
    assert envelope["type"] == "interactive" and envelope["accepts_response_payload"] is True
    payload = envelope["payload"]
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U_AE"
    assert payload["view"]["callback_id"] == "cb" and payload["view"]["state"]["values"] == values


@pytest.mark.parametrize("reason", ["refresh_requested", "warning", "link_disabled"])
def test_disconnect_is_said_then_the_connection_closed(fake, app, reason):
    assert fake.socket_disconnect(reason, grace=0.5) == 1
    deadline = time.monotonic() + 10
    while fake.socket_connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.socket_connected == 0
    assert app.received[-1] == {
        "type": "disconnect",
        "reason": reason,
        "debug_info": {"host": "applink-fake-1"},
    }


def test_an_envelope_waits_for_the_app_to_reconnect(fake, app):
    fake.socket_disconnect(grace=5)
    result: list[Any] = []
    sender = threading.Thread(target=lambda: result.append(fake.socket_command("/x", user_id="U1")))
    sender.start()
    time.sleep(0.3)
    assert app.envelopes() == []  # not sent on a connection told to go
    again = App(fake)
    sender.join(timeout=10)
    assert result[0].acked and len(again.envelopes()) == 1
    again.ws.close()


def test_slack_going_away_closes_the_sockets(fake, app):
    fake.stop()
    app.thread.join(timeout=10)
    assert not app.thread.is_alive() and fake.socket_connected == 0
