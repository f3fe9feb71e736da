"""The client's manners: one token, renewed on a 401 (revoked, or timed out on the org's
clock); a refused grant or permission marks the connector failing once and recovers by
itself; the API allowance holds calls back without failing; 5xx answers are retried,
never for a Task creation; a hidden field is named."""

from __future__ import annotations

import logging
import time

import pytest
from sqlmodel import Session

from bot.crm.connector import ConnectorUnavailable
from bot.crm.salesforce import SalesforceConnector
from bot.crm.salesforce.client import LIMIT_WAIT_SECONDS
from bot.emulator.salesforce import FakeSalesforce
from bot.models import Connector, utcnow

from .conftest import CLIENT_ID, CLIENT_SECRET, VERSION, seed_acme

QUERY = "GET /services/data/*/query*"


def statuses(sf: FakeSalesforce, pattern: str = QUERY) -> list[int | None]:
    return [c.status for c in sf.calls_to(pattern)]


def row(engine) -> Connector | None:
    with Session(engine) as session:
        return session.get(Connector, "salesforce")


def test_one_token_serves_every_call(sf, connector):
    seeded = seed_acme(sf)
    for _ in range(3):
        assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert connector.client.tokens.fetched == 1
    [token_call] = sf.calls_to("POST /services/oauth2/token")
    assert "grant_type=client_credentials" in token_call.body and "***" in token_call.body


def test_a_revoked_token_is_renewed_once_and_the_call_goes_on(sf, connector, engine):
    seeded = seed_acme(sf)
    connector.read_deal(seeded.opportunity)
    sf.expire_tokens()  # an admin revoked the session

    assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert statuses(sf) == [200, 401, 200]
    assert connector.client.tokens.fetched == 2
    assert row(engine).state == "ok"


def test_a_session_that_times_out_on_the_orgs_clock_is_renewed(ca, engine, monkeypatch):
    with FakeSalesforce(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca,
                        session_seconds=7200) as sf:  # fmt: skip
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_pem_path)
        connector = SalesforceConnector(
            instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            version=VERSION, engine=engine,
        )  # fmt: skip
        seeded = seed_acme(sf)
        connector.read_deal(seeded.opportunity)
        sf.advance_time(7201)  # two hours, Salesforce's default session timeout

        assert connector.read_deal(seeded.opportunity).stage == "Negotiation/Review"
        assert statuses(sf) == [200, 401, 200]
        assert connector.client.tokens.fetched == 2


def test_a_refused_grant_marks_the_connector_failing_once_then_it_recovers(
    sf, connector, engine, caplog
):
    seeded = seed_acme(sf)
    connector.read_deal(seeded.opportunity)
    sf.refuse_grant()  # the flow's run-as user was removed
    sf.expire_tokens()
    caplog.set_level(logging.WARNING, logger="bot.crm.salesforce.client")

    for _ in range(3):
        with pytest.raises(ConnectorUnavailable) as refused:
            connector.read_deal(seeded.opportunity)
        assert refused.value.credential
    failing = row(engine)
    assert failing.state == "failing" and "invalid_grant" in failing.reason
    assert "SALESFORCE_CLIENT_ID" in failing.reason
    said = [r.message for r in caplog.records if "failing" in r.message]
    assert said == ["connector=salesforce failing: invalid_grant"]  # once, not per call

    sf.allow_grant()
    assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert row(engine).state == "ok" and row(engine).reason is None


def test_a_changed_consumer_secret_is_a_refused_credential(sf, connector, engine):
    seeded = seed_acme(sf)
    sf.rotate_secret("the-new-secret")
    with pytest.raises(ConnectorUnavailable) as refused:
        connector.read_deal(seeded.opportunity)
    assert refused.value.credential and "invalid_client" in refused.value.reason
    assert row(engine).state == "failing"


def test_a_403_is_a_refused_credential(sf, connector, engine):
    seeded = seed_acme(sf)
    sf.fail_next(QUERY, 403)
    with pytest.raises(ConnectorUnavailable) as refused:
        connector.read_deal(seeded.opportunity)
    assert refused.value.credential and "HTTP 403" in refused.value.reason
    assert row(engine).state == "failing"


def test_the_used_up_allowance_holds_calls_back_without_failing(sf, engine):
    connector = SalesforceConnector(
        instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        version=VERSION, engine=engine, limit_wait_seconds=0.3,
    )  # fmt: skip
    seeded = seed_acme(sf)
    connector.read_deal(seeded.opportunity)
    sf.set_allowance(sf.api_usage[0])  # every call of the day is spent

    with pytest.raises(ConnectorUnavailable) as held:
        connector.read_deal(seeded.opportunity)
    assert held.value.held and not held.value.credential
    assert "REQUEST_LIMIT_EXCEEDED" in held.value.reason
    assert statuses(sf)[-1] == 403
    sent = len(sf.calls)
    with pytest.raises(ConnectorUnavailable):
        connector.read_deal(seeded.opportunity)  # within the hold: nothing is sent
    assert len(sf.calls) == sent
    assert row(engine).state == "ok"  # not a credential failure

    time.sleep(0.35)
    with pytest.raises(ConnectorUnavailable):  # still spent: held again, twice as long
        connector.read_deal(seeded.opportunity)
    assert connector.client.held_until - time.monotonic() > 0.4
    sf.reset_limits()
    time.sleep(0.65)
    assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert connector.client.held_until == 0.0


def test_at_its_default_the_allowance_hold_is_a_minute(sf, connector):
    seeded = seed_acme(sf)
    sf.set_allowance(0)
    with pytest.raises(ConnectorUnavailable):
        connector.read_deal(seeded.opportunity)
    remaining = connector.client.held_until - time.monotonic()
    assert LIMIT_WAIT_SECONDS == 60 and 59 < remaining <= 60


def test_5xx_answers_are_retried_and_retry_after_is_honoured(sf, connector):
    seeded = seed_acme(sf)
    sf.fail_next(QUERY, 503, count=2)
    assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert statuses(sf) == [503, 503, 200]

    sf.fail_next(QUERY, 503, retry_after=1.2)
    started = time.monotonic()
    connector.read_deal(seeded.opportunity)
    assert time.monotonic() - started >= 1.2  # not the 0.5 s first backoff


def test_a_lost_task_creation_is_never_repeated_blindly(sf, connector):
    seeded = seed_acme(sf)
    sf.fail_next("POST /services/data/*/sobjects/Task*", 503, after_effect=True)
    with pytest.raises(ConnectorUnavailable):
        connector.create_note(seeded.opportunity, body="Subject\nref marker-1", at=utcnow())
    [task] = sf.tasks(seeded.opportunity)  # Salesforce did create it
    assert len(sf.calls_to("POST /services/data/*/sobjects/Task*")) == 1
    assert connector.find_note(seeded.opportunity, "marker-1") == task["Id"]
    assert connector.find_note(seeded.opportunity, "marker-2") is None


@pytest.mark.parametrize(
    ("hide", "named"),
    [
        (("field", "Contact", "Email"), "Contact.Email"),
        (("field", "User", "Email"), "User.Email"),
        (("field", "Opportunity", "Probability"), "Opportunity.Probability"),
        (("object", "OpportunityContactRole"), "OpportunityContactRoles"),
    ],
)
def test_what_the_integration_user_may_not_read_is_named(sf, connector, engine, hide, named):
    seeded = seed_acme(sf)
    kind, *where = hide
    (sf.hide_field if kind == "field" else sf.hide_object)(*where)

    with pytest.raises(ConnectorUnavailable) as hidden:
        connector.read_deal(seeded.opportunity)
    assert f"read {named} (" in hidden.value.reason and hidden.value.credential
    assert named in row(engine).reason and row(engine).state == "failing"

    (sf.show_field if kind == "field" else sf.show_object)(*where)
    assert connector.read_deal(seeded.opportunity).company == "Acme Corp"
    assert row(engine).state == "ok"
