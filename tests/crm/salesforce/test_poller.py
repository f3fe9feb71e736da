"""The poll: one SOQL query and every batch, from the moment the connector was enabled;
a cursor that trails Salesforce's clock by the overlap, and each (Id, SystemModstamp)
stored once however often the overlap reads it again, across restarts; a quiet poll is
one query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from bot.crm.records import DealRecord
from bot.crm.salesforce import SalesforceConnector
from bot.crm.salesforce.poller import OVERLAP_SECONDS, SalesforcePoller, parse_cursor
from bot.emulator.salesforce import FakeSalesforce
from bot.flows.home import HomeRefresh
from bot.models import Connector, CrmEvent
from bot.slack.client import make_client
from bot.tasks import crm_connectors, periodic_tasks

from .conftest import CLIENT_ID, CLIENT_SECRET, VERSION, enable, seed_acme

QUERY = "GET /services/data/*/query*"


def events(engine) -> list[CrmEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CrmEvent).order_by(CrmEvent.id)))


def cursor(engine):
    with Session(engine) as session:
        row = session.get(Connector, "salesforce")
        return parse_cursor(row.cursor if row else None)


def queries(sf: FakeSalesforce) -> int:
    return len(sf.calls_to(QUERY))


@pytest.fixture
def poll(engine, connector) -> SalesforcePoller:
    return SalesforcePoller(engine, connector.client, every_seconds=0)


def test_the_first_poll_starts_when_the_connector_was_enabled(sf, engine, poll):
    sf.add_opportunity("Old deal, before we were installed")
    enable(engine)
    seeded = seed_acme(sf)

    assert poll() == 1
    [event] = events(engine)
    assert (event.source, event.crm_id) == ("salesforce", seeded.opportunity)
    stamp = sf.opportunity(seeded.opportunity)["SystemModstamp"][:19]
    assert event.dedupe_key == f"salesforce:opportunity:{seeded.opportunity}:{stamp}"
    payload = json.loads(event.payload)
    assert payload["kind"] == "salesforce"
    record = DealRecord.from_json(payload["record"])  # the whole deal: nothing to read again
    assert (record.company, record.owner_email, record.stage_status) == (
        "Acme Corp", "alex@ours.example", "open"
    )  # fmt: skip
    assert [p.email for p in record.people] == ["cto@acme.example", None]  # primary first


def test_one_query_names_every_field_the_spec_lists(sf, engine, poll):
    enable(engine)
    poll()
    [call] = sf.calls_to(QUERY)
    soql = call.query["q"][0]
    for field in ("Name", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon",
                  "Probability", "Account.Name", "Owner.Email", "Contact.Email",
                  "Contact.FirstName", "Contact.LastName", "IsPrimary"):  # fmt: skip
        assert field in soql
    assert "FROM OpportunityContactRoles" in soql
    assert "WHERE SystemModstamp >= " in soql and soql.endswith("ORDER BY SystemModstamp, Id")


@pytest.fixture
def small_batches(ca, engine, monkeypatch) -> Iterator[tuple[FakeSalesforce, SalesforcePoller]]:
    """An org that answers 200 rows a batch (Salesforce may give fewer than 2,000)."""
    with FakeSalesforce(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca,
                        max_batch=200) as sf:  # fmt: skip
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_pem_path)
        connector = SalesforceConnector(
            instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            version=VERSION, engine=engine,
        )  # fmt: skip
        yield sf, SalesforcePoller(engine, connector.client, every_seconds=0)


def test_450_opportunities_come_in_three_batches_each_stored_once(small_batches, engine):
    sf, poll = small_batches
    enable(engine)
    made = [sf.add_opportunity(f"Deal {i}") for i in range(450)]

    assert poll() == 450
    assert [e.crm_id for e in events(engine)] == made  # ORDER BY SystemModstamp, Id
    more = sf.calls_to("GET /services/data/*/query/01g*")
    assert len(sf.calls_to(QUERY)) == 3 and len(more) == 2  # one query, two nextRecordsUrl

    assert poll() == 0  # the overlap reads them again: nothing new is stored
    assert len(events(engine)) == 450


def test_a_batch_that_fails_keeps_what_came_before_and_the_next_poll_goes_on(small_batches, engine):
    sf, poll = small_batches
    enable(engine)
    made = [sf.add_opportunity(f"Deal {i}") for i in range(450)]
    sf.fail_next("GET /services/data/*/query/01g*", 503, count=5)  # past the retries

    assert poll() == 0  # the poll waits; the first batch is stored
    assert len(events(engine)) == 200
    assert poll() == 250
    assert [e.crm_id for e in events(engine)] == made


def test_a_quiet_poll_is_one_query_once_the_overlap_has_passed(sf, engine, poll):
    enable(engine)
    seeded = seed_acme(sf)
    assert poll() == 1

    before = queries(sf)
    assert poll() == 0  # within the overlap: read again, not stored again
    assert queries(sf) == before + 1
    sf.advance_time(OVERLAP_SECONDS + 1)
    assert poll() == 0
    [last] = sf.calls_to(QUERY)[-1:]
    assert last.status == 200 and queries(sf) == before + 2
    assert poll() == 0  # and now the query answers no record at all
    assert cursor(engine) > parse_cursor(sf.opportunity(seeded.opportunity)["SystemModstamp"])

    sf.update_opportunity(seeded.opportunity, StageName="Closed Won")
    assert poll() == 1
    assert poll() == 0
    assert [e.crm_id for e in events(engine)] == [seeded.opportunity] * 2


def test_the_cursor_trails_salesforces_clock_by_the_overlap(sf, engine, poll):
    enable(engine)
    sf.set_time("2030-01-01T10:00:00Z")  # Salesforce's clock, not ours, moves the cursor
    sf.add_opportunity("Acme")
    poll()
    assert cursor(engine).isoformat() == "2030-01-01T09:58:00+00:00"  # 120 s before


def test_a_save_in_the_cursors_second_is_not_missed(sf, engine, poll):
    enable(engine)
    with sf.same_second():
        first = sf.add_opportunity("First")
        assert poll() == 1
        late = sf.add_opportunity("Same second, after the query")
    sf.advance_time(OVERLAP_SECONDS + 5)  # the cursor now trails the clock past them
    assert poll() == 1
    assert [e.crm_id for e in events(engine)] == [first, late]


def test_a_late_commit_stamped_before_the_last_poll_is_caught_by_the_overlap(sf, engine, poll):
    enable(engine)
    sf.set_time("2030-01-01T10:00:00Z")
    seen = sf.add_opportunity("Seen")
    assert poll() == 1
    sf.advance_time(30)
    # a long transaction stamped at 09:59:50 commits now, after the poll saw 10:00:00
    late = sf.add_opportunity("Long transaction", modstamp="2030-01-01T09:59:50Z")
    assert poll() == 1
    assert [e.crm_id for e in events(engine)] == [seen, late]


def test_after_a_restart_the_overlap_is_deduplicated_by_the_database(sf, engine, connector):
    enable(engine)
    seed_acme(sf)
    assert SalesforcePoller(engine, connector.client, every_seconds=0)() == 1
    restarted = SalesforceConnector(
        instance_url=sf.instance_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        version=VERSION, engine=engine,
    )  # fmt: skip
    assert SalesforcePoller(engine, restarted.client, every_seconds=0)() == 0
    assert len(events(engine)) == 1


def test_the_poll_runs_once_per_interval(sf, engine, connector):
    enable(engine)
    seed_acme(sf)
    poll = SalesforcePoller(engine, connector.client, every_seconds=60)
    assert poll() == 1
    assert poll() == 0 and queries(sf) == 1  # not due again within the interval


def test_a_refused_grant_makes_the_poll_wait_without_losing_the_cursor(sf, engine, poll):
    enable(engine)
    seeded = seed_acme(sf)
    sf.refuse_grant()
    assert poll() == 0
    sf.allow_grant()
    assert poll() == 1
    assert [e.crm_id for e in events(engine)] == [seeded.opportunity]


def test_the_worker_polls_and_writes_back_only_with_the_salesforce_settings(
    settings, fake, engine, sf
):
    def names(settings) -> list[str]:
        client = make_client(settings)
        homes = HomeRefresh(engine, client, settings)
        tasks = periodic_tasks(
            engine, settings, client, homes=homes, wake=lambda: None,
            invite_next=lambda _: "", lease_seconds=30,
        )  # fmt: skip
        return [name for name, _ in tasks]

    assert "salesforce_poll" not in names(settings)
    on = replace(
        settings, salesforce_instance_url=sf.instance_url, salesforce_client_id=CLIENT_ID,
        salesforce_client_secret=CLIENT_SECRET,
    )  # fmt: skip
    assert {"salesforce_poll", "crm_writeback"} <= set(names(on))
    assert set(crm_connectors(engine, on)) == {"salesforce"}
