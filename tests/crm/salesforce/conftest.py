"""A FakeSalesforce on its real clock (the poll's first cursor is the moment the
connector was enabled, on ours), trusted through REQUESTS_CA_BUNDLE, and our connector
pointed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import trustme
from sqlalchemy import Engine

from bot.crm.salesforce import SalesforceConnector
from bot.db import session_scope
from bot.emulator import FakeSlack
from bot.emulator.salesforce import FakeSalesforce
from bot.models import utcnow
from bot.store.connectors import connector as connector_row
from tests.factories import make_member
from tests.waiting import wait_for

CLIENT_ID = "3MVG9connector.test.key"
CLIENT_SECRET = "connector-test-secret"
VERSION = "62.0"
OWNER = ("U_DANA", "dana", "Dana Deals", "dana@ours.example")  # only Salesforce names her


@dataclass
class Seeded:
    owner: str
    account: str
    contact: str
    nameless: str
    opportunity: str


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def sf(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with FakeSalesforce(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_pem_path)
        yield server


@pytest.fixture
def connector(sf: FakeSalesforce, engine: Engine) -> SalesforceConnector:
    return SalesforceConnector(
        instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        version=VERSION, engine=engine,
    )  # fmt: skip


def next_second() -> None:
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def enable(engine: Engine) -> None:
    """The connector's row, in a second of its own: SystemModstamp has whole seconds, and
    the first poll reads the second the connector was enabled in."""
    next_second()
    with session_scope(engine) as session:
        connector_row(session, name="salesforce", now=utcnow())
    next_second()


def seed_acme(sf: FakeSalesforce, *, stage: str = "Negotiation/Review", **extra) -> Seeded:
    """Acme's platform deal owned by Alex, two contact roles (one contact without email)."""
    owner = sf.add_user("Alex@Ours.example", "Alex", "Account")
    account = sf.add_account("Acme Corp")
    contact = sf.add_contact("cto@acme.example", "Cara", "Cole", account_id=account)
    nameless = sf.add_contact(None, "Nora", "Noemail", account_id=account)
    opportunity = sf.add_opportunity(
        "Acme Corp - platform", stage=stage, amount=48000, close_date="2026-03-31",
        account_id=account, owner_id=owner, contact_ids=[nameless, contact],
        primary_contact_id=contact, **extra,
    )  # fmt: skip
    return Seeded(owner, account, contact, nameless, opportunity)


@pytest.fixture
def sf_bot(make_bot, fake: FakeSlack, sf: FakeSalesforce) -> Callable[..., Any]:
    """The app with the Salesforce connector on, polling every second (the default,
    CARE_CRM_POLL_SECONDS=60, finds a change within a minute); CARE_AUTO_WATCH=all."""
    user_id, name, real_name, email = OWNER
    fake.add_user(user_id, name=name, real_name=real_name, email=email, title="AE")

    def make(**overrides: Any):
        options = {"crm_poll_seconds": 1, **overrides}
        bot = make_bot(
            salesforce_instance_url=sf.instance_url, salesforce_client_id=CLIENT_ID,
            salesforce_client_secret=CLIENT_SECRET, auto_watch=True, **options,
        )  # fmt: skip
        make_member(bot.engine)
        wait_for(lambda: sf.calls_to("GET /services/data/*/query*"), "the first poll")
        next_second()  # what is saved from now on is after the connector was enabled
        return bot

    return make
