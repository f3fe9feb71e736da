"""The client's manners: paced under 100/10 s, 429s and 5xx waited out, a refused token
marked once and cleared by the next call that works."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlmodel import Session

from bot.crm.connector import ConnectorUnavailable
from bot.crm.hubspot.client import MAX_SERVER_RETRIES, HubSpotClient
from bot.crm.hubspot.pacing import Pacer
from bot.models import Connector
from tests.crm.hubspot.conftest import SCALE, TOKEN


def statuses(hub, pattern: str = "*") -> list[int | None]:
    return [c.status for c in hub.calls_to(pattern)]


def test_a_burst_of_150_reads_stays_under_the_limit_without_a_429(connector, hub, seeded):
    """150 deal reads from 5 threads: the fake enforces 100 per (compressed) 10 s."""
    api = connector.client.api("crm.deals.basic_api")
    started = time.monotonic()

    def read(count: int) -> None:
        for _ in range(count):
            connector.client.call(api.get_by_id, seeded.deal)

    threads = [threading.Thread(target=read, args=(30,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(hub.calls) == 150
    assert 429 not in statuses(hub)
    # the second hundred had to wait for the first window to pass: >= 10 s of HubSpot time
    assert time.monotonic() - started >= 10 / SCALE


def test_search_is_paced_at_five_a_second(connector, hub):
    api = connector.client.api("crm.deals.search_api")
    for _ in range(12):
        connector.client.call(api.do_search, public_object_search_request={}, search=True)
    assert 429 not in statuses(hub)


def test_a_429_storm_with_retry_after_is_waited_out(connector, hub, seeded):
    hub.rate_limit_next("GET /crm/v3/objects/deals/*", retry_after=2.0, count=5)
    started = time.monotonic()
    record = connector.read_deal(seeded.deal)

    assert record.company == "Acme Corp"
    assert statuses(hub, "GET /crm/v3/objects/deals/*") == [429] * 5 + [200]
    assert time.monotonic() - started >= 5 * 2.0 / SCALE  # each Retry-After honoured


def test_a_429_without_any_header_backs_off_and_goes_on(connector, hub, seeded):
    hub.rate_limit_next("GET /crm/v3/objects/deals/*", count=3)
    assert connector.read_deal(seeded.deal).company == "Acme Corp"
    assert statuses(hub, "GET /crm/v3/objects/deals/*") == [429] * 3 + [200]


def test_hubspots_own_429s_are_waited_out_by_their_rate_limit_headers(hub, seeded, engine):
    """A client that does not pace (as if another app shared the token): HubSpot's 429s
    carry X-HubSpot-RateLimit-*; every call still ends in a 200."""
    unpaced = HubSpotClient(
        token=TOKEN, base_url=hub.url, engine=engine,
        pacer=Pacer(burst_max=10_000, search_max=10_000, time_scale=SCALE),
    )  # fmt: skip
    api = unpaced.api("crm.deals.basic_api")
    for _ in range(130):
        unpaced.call(api.get_by_id, seeded.deal)
    answered = statuses(hub)
    assert 429 in answered
    assert answered.count(200) == 130


def test_5xx_are_retried_with_backoff_and_nothing_is_lost(connector, hub, seeded):
    hub.fail_next("POST /crm/v3/objects/contacts/batch/read", 502, count=2)
    hub.fail_next("GET /crm/v3/objects/companies/*", 503)
    hub.drop_next("GET /crm/v3/owners/*")
    record = connector.read_deal(seeded.deal)
    assert record.company == "Acme Corp" and record.owner_email == "alex@ours.example"
    assert len(record.people) == 2


def test_a_5xx_that_does_not_pass_makes_the_connector_unavailable(connector, hub, seeded):
    hub.fail_next("GET /crm/v3/objects/deals/*", 500, count=MAX_SERVER_RETRIES + 1)
    with pytest.raises(ConnectorUnavailable) as raised:
        connector.read_deal(seeded.deal)
    assert not raised.value.credential
    assert connector.read_deal(seeded.deal).company == "Acme Corp"  # and the next works


@pytest.mark.parametrize("status", [403, 401])
def test_a_refused_token_marks_the_connector_failing_once_and_it_recovers(
    connector, hub, seeded, engine, caplog, status
):
    caplog.set_level(logging.INFO, logger="bot.crm.hubspot.client")
    connector.read_deal(seeded.deal)
    hub.revoke_token(status)
    for _ in range(3):
        with pytest.raises(ConnectorUnavailable) as raised:
            connector.read_deal(seeded.deal)
        assert raised.value.credential

    with Session(engine) as session:
        row = session.get(Connector, "hubspot")
        assert row is not None and row.state == "failing"
        assert f"HTTP {status}" in (row.reason or "")
    failing_lines = [r for r in caplog.records if "failing" in r.getMessage()]
    assert len(failing_lines) == 1
    assert all(connector_token_absent(r.getMessage()) for r in caplog.records)

    hub.restore_token()
    assert connector.read_deal(seeded.deal).company == "Acme Corp"
    with Session(engine) as session:
        row = session.get(Connector, "hubspot")
        assert row is not None and (row.state, row.reason) == ("ok", None)
    assert len([r for r in caplog.records if "recovered" in r.getMessage()]) == 1


def connector_token_absent(message: str) -> bool:
    return TOKEN not in message and "pat-na1" not in message
