"""`careintro serve --socket` as a real process against the emulator's Socket Mode:
commands, events and modal submissions come over the WebSocket and are acked there,
while the same process's HTTP port answers /healthz and the CRM webhooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.emulator import FakeSlack
from bot.ids import Field, ModalId
from bot.models import Introduction, IntroStatus
from bot.slack.requests import post, signed_headers, slash_command_body
from tests.conftest import SECRET, TOKEN
from tests.crm.conftest import CRM_SECRET, generic_headers
from tests.factories import make_member
from tests.processes import free_port, wait_until_healthy

COMMAND = "/introduce-care"


class SocketBot:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def socket_bot(fake: FakeSlack, db_url: str, tmp_path: Path) -> Iterator[SocketBot]:
    """The app in Socket Mode with its worker, at the defaults but the worker's poll."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CARE"))} | {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": fake.app_token,
        "SLACK_API_URL": fake.url, "DATABASE_URL": db_url, "PORT": str(port),
        "CRM_WEBHOOK_SECRET": CRM_SECRET, "CARE_POLL_MS": "100",
        "CAREINTRO_ENV_FILE": os.devnull, "LOG_LEVEL": "INFO",
    }  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--socket"],
                                   env=env, stdout=out, stderr=out)  # fmt: skip
    try:
        wait_until_healthy(process, port)
        fake.wait_for_socket(1)
        yield SocketBot(process, port, log)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def introductions(engine: Engine) -> list[Introduction]:
    with Session(engine) as session:
        return list(session.exec(select(Introduction).order_by(Introduction.id)))


def wait_done(engine: Engine, count: int = 1, timeout: float = 30) -> list[Introduction]:
    deadline = time.monotonic() + timeout
    while True:
        intros = introductions(engine)
        if len(intros) >= count and all(i.status == IntroStatus.DONE for i in intros):
            return intros
        assert time.monotonic() < deadline, [(i.id, i.status, i.last_error) for i in intros]
        time.sleep(0.1)


def wait_for(check, timeout: float = 15):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)
    return found


def test_slash_commands_are_answered_in_the_ack(socket_bot, fake, engine):
    help_ack = fake.socket_command(COMMAND, "help", user_id="U_AE")
    assert help_ack.acked and help_ack.attempts == 1
    assert help_ack.payload is not None and help_ack.payload["response_type"] == "ephemeral"
    assert "/introduce-care now" in json.dumps(help_ack.payload["blocks"])

    make_member(engine)
    now_ack = fake.socket_command(COMMAND, "now D-7 Globex <@U_ENG> cto@globex.example",
                                  user_id="U_AE")  # fmt: skip
    assert now_ack.acked and now_ack.payload is not None
    assert now_ack.payload["response_type"] == "ephemeral"
    [intro] = wait_done(engine)
    assert intro.deal_id is not None
    channel = fake.channel_by_name("care-globex")
    assert channel is not None and "U_ENG" in channel.members


def test_a_modal_opened_and_submitted_over_the_socket_introduces(socket_bot, fake, engine):
    make_member(engine)
    opened = fake.socket_command(COMMAND, "", user_id="U_AE")
    assert opened.acked
    [view] = wait_for(lambda: fake.views_opened)  # views.open with the command's trigger
    assert view["callback_id"] == ModalId.INTRODUCE

    def state(field: Field, value: object) -> dict[str, dict[str, object]]:
        key = "selected_user" if field == Field.ENGINEER else "value"
        return {field.action: {"type": "x", key: value}}

    bad = fake.socket_submit_view(
        view["id"], {Field.DEAL: state(Field.DEAL, "D-9"),
                     Field.CONTACTS: state(Field.CONTACTS, "nope@")}, user_id="U_AE",
    )  # fmt: skip
    assert bad.acked and bad.payload is not None and bad.payload["response_action"] == "errors"
    assert Field.CONTACTS in bad.payload["errors"]

    values = {Field.DEAL: "D-9", Field.COMPANY: "Initech", Field.ENGINEER: "U_ENG",
              Field.CONTACTS: "cto@initech.example", Field.NOTES: "Weekly check-ins"}  # fmt: skip
    good = fake.socket_submit_view(
        view["id"], {f.value: state(f, v) for f, v in values.items()}, user_id="U_AE"
    )
    assert good.acked and not (good.payload or {}).get("response_action")
    wait_done(engine)
    assert fake.channel_by_name("care-initech") is not None
    assert "Weekly check-ins" in json.dumps(fake.dm_messages("U_ENG"))


def test_an_event_over_the_socket_is_acked_and_applied(socket_bot, fake):
    ack = fake.socket_event({"type": "app_home_opened", "user": "U_AE", "channel": "D_AE",
                             "tab": "home"})  # fmt: skip
    assert ack.acked and ack.attempts == 1 and ack.payload is None
    home = wait_for(lambda: fake.views_published.get("U_AE"))
    assert home["type"] == "home"


def test_the_http_port_serves_healthz_and_crm_webhooks(socket_bot, fake, engine):
    with urllib.request.urlopen(f"{socket_bot.url}/healthz", timeout=5) as response:
        assert response.status == 200 and json.load(response)["db"] == "ok"
    make_member(engine)
    event = {"deal_id": "D-3", "stage": "Contract Sent", "company": "Hooli",
             "contacts": ["cto@hooli.example"], "engineer_email": "eng@ours.example"}  # fmt: skip
    body = json.dumps(event)
    status, answer = post(f"{socket_bot.url}/crm/webhook", body, generic_headers(body))
    assert status == 200 and json.loads(answer)["new"] == 1, answer
    status, _ = post(f"{socket_bot.url}/crm/webhook", body, generic_headers(body, secret="x"))
    assert status == 401
    # Slack's requests come over the socket: no HTTP endpoint takes them, signed or not.
    form = slash_command_body("help", user_id="U_AE")
    status, _ = post(f"{socket_bot.url}/slack/events", form, signed_headers(SECRET, form))
    assert status == 404


def test_a_refresh_reconnects_and_the_next_envelope_is_handled(socket_bot, fake):
    assert len(fake.calls_to("apps.connections.open")) == 1  # the start-up check's URL
    assert fake.socket_disconnect("refresh_requested") == 1
    fake.wait_for_socket(2)
    assert len(fake.calls_to("apps.connections.open")) == 2
    wait_for(lambda: fake.socket_connected == 1)  # the app closed the old one itself
    ack = fake.socket_command(COMMAND, "help", user_id="U_AE")
    assert ack.acked and ack.payload is not None and ack.payload["response_type"] == "ephemeral"


def test_sigterm_stops_the_socket_and_the_http_server(socket_bot, fake):
    socket_bot.process.send_signal(signal.SIGTERM)
    assert socket_bot.process.wait(timeout=45) == 0  # worker grace 25 s, socket 5 s at most
    wait_for(lambda: fake.socket_connected == 0)
    assert "Traceback" not in socket_bot.log.read_text()


def test_slack_going_away_and_back_the_app_reconnects(socket_bot, fake):
    """slack-sdk's client looks at its connection every 10 s (its default) and opens a
    new one through apps.connections.open once Slack answers again."""
    fake.stop()
    time.sleep(1)
    fake.start()
    fake.wait_for_socket(2, timeout=45)
    ack = fake.socket_command(COMMAND, "help", user_id="U_AE")
    assert ack.acked and ack.payload is not None and ack.payload["response_type"] == "ephemeral"
