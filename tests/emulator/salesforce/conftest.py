"""Fixtures: a FakeSalesforce per test (its certificate from one trustme CA), a token
from its client credentials endpoint, the real simple-salesforce client, raw calls.

simple-salesforce and trustme are test-time dependencies (the `test` extra). The client
trusts the fake the standard way: REQUESTS_CA_BUNDLE names the test CA. (requests lets
that variable override `Session.verify`, so setting only the session is not enough on a
machine that sets it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import trustme
from simple_salesforce import Salesforce

from bot.emulator.salesforce import FakeSalesforce

CLIENT_ID = "3MVG9test.consumer.key"
CLIENT_SECRET = "test-consumer-secret"
CONNECTOR_SOQL = (
    "SELECT Id, Name, StageName, Amount, CloseDate, IsClosed, IsWon, Probability, "
    "SystemModstamp, Account.Name, Owner.Email, (SELECT Contact.Email, Contact.FirstName, "
    "Contact.LastName, IsPrimary FROM OpportunityContactRoles) FROM Opportunity "
    "WHERE SystemModstamp > {after} ORDER BY SystemModstamp, Id LIMIT {limit}"
)


def connector_soql(after: str = "2026-01-01T00:00:00Z", limit: int = 10_000) -> str:
    return CONNECTOR_SOQL.format(after=after, limit=limit)


@dataclass
class Seeded:
    owner: str
    account: str
    contact: str
    contact_no_email: str
    opportunity: str


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def sf(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with FakeSalesforce(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_pem_path)
        server.set_time("2026-02-01T09:00:00Z")
        yield server


def fetch_token(sf: FakeSalesforce, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **form,
    }
    return requests.post(sf.token_url, data=data, timeout=5)


@pytest.fixture
def token(sf: FakeSalesforce) -> str:
    return fetch_token(sf).json()["access_token"]


@pytest.fixture
def client(sf: FakeSalesforce, token: str) -> Salesforce:
    return Salesforce(instance_url=sf.instance_url, session_id=token, session=requests.Session())


@pytest.fixture
def seeded(sf: FakeSalesforce) -> Seeded:
    owner = sf.add_user("alex@ours.example", "Alex", "Account")
    account = sf.add_account("Acme Corp")
    contact = sf.add_contact("cto@acme.example", "Cara", "Cole", account_id=account)
    nameless = sf.add_contact(None, "Nora", "Noemail", account_id=account)
    opportunity = sf.add_opportunity(
        "Acme Corp - platform",
        stage="Negotiation/Review",
        amount=48000,
        close_date="2026-03-31",
        account_id=account,
        owner_id=owner,
        contact_ids=[contact, nameless],
        modstamp="2026-01-15T12:00:00Z",
    )
    return Seeded(owner, account, contact, nameless, opportunity)


def raw(
    sf: FakeSalesforce, method: str, path: str, token: str | None, **kwargs: Any
) -> requests.Response:
    """One call with plain requests, to see the status, headers and body as sent."""
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, sf.instance_url + path, headers=headers, timeout=5, **kwargs)
