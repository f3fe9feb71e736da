"""The client credentials flow, sessions that expire, and HTTPS trusted through a CA."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed
from simple_salesforce.exceptions import SalesforceExpiredSession
from simple_salesforce.login import token_login

from bot.emulator.salesforce import NO_RUN_AS_USER, FakeSalesforce

from .conftest import CLIENT_ID, CLIENT_SECRET, fetch_token, raw

QUERY = "/services/data/v59.0/query?q=SELECT+Id+FROM+Opportunity"


def test_token_answer_has_salesforce_fields_and_a_valid_signature(sf: FakeSalesforce) -> None:
    answer = fetch_token(sf)
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["instance_url"] == sf.instance_url and body["token_type"] == "Bearer"
    assert body["id"].endswith(f"/{sf.integration_user_id}")
    assert body["issued_at"] == "1769936400000"  # the frozen clock, in epoch milliseconds
    digest = hmac.new(
        CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert body["signature"] == base64.b64encode(digest).decode()


def test_simple_salesforce_token_login_sends_basic_auth_and_is_accepted(sf: FakeSalesforce) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    session_id, instance = token_login(
        sf.token_url,
        {"grant_type": "client_credentials"},
        "fake",
        CLIENT_ID,
        {"Authorization": f"Basic {basic}"},
        None,
        requests.Session(),
    )
    assert instance == sf.instance_url.removeprefix("https://")
    client = Salesforce(instance_url=sf.instance_url, session_id=session_id)
    assert client.query("SELECT Id FROM Opportunity")["totalSize"] == 0


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "nobody"}, "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": ""}, "invalid_request", "grant type is missing"),
    ],
)
def test_refused_token_requests(
    sf: FakeSalesforce, form: dict[str, str], error: str, description: str
) -> None:
    answer = fetch_token(sf, **form)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


def test_a_disabled_flow_answers_invalid_grant_until_allowed_again(sf: FakeSalesforce) -> None:
    sf.refuse_grant()
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        token_login(
            sf.token_url,
            {
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            "fake",
            CLIENT_ID,
            None,
            None,
            requests.Session(),
        )
    assert refused.value.code == "invalid_grant"
    assert NO_RUN_AS_USER in str(refused.value)
    sf.allow_grant()
    assert fetch_token(sf).status_code == 200


def test_a_rotated_secret_refuses_the_old_one(sf: FakeSalesforce) -> None:
    sf.rotate_secret("new-secret")
    assert fetch_token(sf).json()["error"] == "invalid_client"
    assert fetch_token(sf, client_secret="new-secret").status_code == 200


def test_expired_token_answers_401_invalid_session_and_a_new_one_works(
    sf: FakeSalesforce, client: Salesforce
) -> None:
    assert client.query("SELECT Id FROM Opportunity")["done"] is True
    sf.expire_tokens()
    with pytest.raises(SalesforceExpiredSession) as expired:
        client.query("SELECT Id FROM Opportunity")
    assert expired.value.status == 401
    assert expired.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    renewed = Salesforce(
        instance_url=sf.instance_url, session_id=fetch_token(sf).json()["access_token"]
    )
    assert renewed.query("SELECT Id FROM Opportunity")["totalSize"] == 0


def test_unknown_and_missing_tokens(sf: FakeSalesforce) -> None:
    unknown = raw(sf, "GET", QUERY, "00Dnot!a-token")
    missing = raw(sf, "GET", QUERY, None)
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (401, "INVALID_SESSION_ID")
    assert missing.status_code == 401
    assert missing.json() == [
        {"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}
    ]
    assert "Sforce-Limit-Info" not in unknown.headers and sf.api_usage[0] == 0


def test_sessions_time_out_on_the_org_clock(ca: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeSalesforce(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca, session_seconds=7200
    ) as sf:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_pem_path)
        sf.set_time("2026-02-01T09:00:00Z")
        token = fetch_token(sf).json()["access_token"]
        sf.advance_time(7199)
        assert raw(sf, "GET", QUERY, token).status_code == 200
        sf.advance_time(1)
        assert raw(sf, "GET", QUERY, token).status_code == 401


def test_the_secret_is_masked_in_the_call_log(sf: FakeSalesforce) -> None:
    fetch_token(sf)
    (call,) = sf.calls_to("POST /services/oauth2/token")
    assert CLIENT_SECRET not in call.body and "client_secret=***" in call.body
    assert call.status == 200


def test_built_in_ca_is_trusted_through_the_ca_file(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeSalesforce(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as sf:
        assert sf.instance_url.startswith("https://127.0.0.1:")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_pem_path)
        assert fetch_token(sf).status_code == 200
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        with pytest.raises(requests.exceptions.SSLError):  # not in the system's trust store
            requests.post(sf.token_url, data={}, timeout=5)


def test_plain_http_for_raw_clients() -> None:
    with FakeSalesforce(tls=False) as sf:
        assert sf.instance_url.startswith("http://")
        answer = requests.post(
            sf.token_url,
            timeout=5,
            data={
                "grant_type": "client_credentials",
                "client_id": sf.client_id,
                "client_secret": sf.client_secret,
            },
        )
        assert answer.json()["instance_url"] == sf.instance_url
