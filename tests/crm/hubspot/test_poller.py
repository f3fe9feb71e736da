"""The reconciliation poll: every page, a cursor that moves only once events are
stored, no history before the connector was enabled, one call when quiet, one poll per
interval whoever asks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from bot.crm.hubspot.poller import HubSpotPoller, modified_ms
from bot.db import session_scope
from bot.flows.home import HomeRefresh
from bot.models import Connector, CrmEvent, utcnow
from bot.slack.client import make_client
from bot.store.connectors import connector as connector_row
from bot.tasks import crm_connectors, periodic_tasks


def events(engine) -> list[CrmEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CrmEvent).order_by(CrmEvent.id)))


def enable(engine) -> None:
    with session_scope(engine) as session:
        connector_row(session, name="hubspot", now=utcnow())
    time.sleep(0.005)  # deals made from now on are modified after enabled_at


def searches(hub) -> int:
    return len(hub.calls_to("POST /crm/v3/objects/deals/search"))


def test_the_first_poll_starts_when_the_connector_was_enabled(engine, hub, connector):
    hub.add_deal("Old deal, before we were installed")
    time.sleep(0.005)
    enable(engine)
    fresh = hub.add_deal("New deal")
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)

    assert poll() == 1
    [event] = events(engine)
    assert (event.source, event.crm_id) == ("hubspot", fresh)
    assert json.loads(event.payload) == {"kind": "hubspot_ref", "object_id": fresh}
    stamp = modified_ms(hub.deal(fresh)["properties"]["hs_lastmodifieddate"])
    assert event.dedupe_key == f"hubspot:deal:{fresh}:{stamp}"


def test_450_deals_are_read_in_three_pages_and_the_cursor_moves_past_them(engine, hub, connector):
    enable(engine)
    made = [hub.add_deal(f"Deal {i}") for i in range(450)]
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)

    assert poll() == 450
    assert {e.crm_id for e in events(engine)} == set(made)
    pages = [c.body for c in hub.calls_to("POST /crm/v3/objects/deals/search")]
    assert [p.get("after") for p in pages] == [None, "200", "400"]
    assert all(p["limit"] == 200 for p in pages)
    assert pages[0]["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    with Session(engine) as session:
        row = session.get(Connector, "hubspot")
        assert row is not None
    last = max(modified_ms(hub.deal(d)["properties"]["hs_lastmodifieddate"]) for d in made)
    assert row.cursor == str(last)


def test_a_quiet_poll_is_one_call_and_a_change_since_is_found_once(engine, hub, connector):
    enable(engine)
    deal = hub.add_deal("Acme")
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)
    assert poll() == 1

    before = searches(hub)
    assert poll() == 0  # the cursor's own millisecond is searched again: deduplicated
    assert searches(hub) == before + 1

    hub.move_stage(deal, "contractsent")
    assert poll() == 1
    assert poll() == 0
    assert [e.crm_id for e in events(engine)] == [deal, deal]


def test_deals_saved_in_the_cursors_millisecond_are_not_missed(engine, hub, connector):
    enable(engine)
    first = hub.add_deal("First")
    stamp = modified_ms(hub.deal(first)["properties"]["hs_lastmodifieddate"])
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)
    assert poll() == 1
    late = hub.add_deal("Same millisecond, indexed later", modified_ms=stamp)
    assert poll() == 1
    assert [e.crm_id for e in events(engine)] == [first, late]


def test_the_poll_runs_once_per_interval_even_when_two_ask_at_once(engine, hub, connector):
    enable(engine)
    hub.add_deal("Acme")
    polls = [HubSpotPoller(engine, connector.client, every_seconds=60) for _ in range(2)]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run(poll: HubSpotPoller) -> None:
        barrier.wait()
        results.append(poll())

    threads = [threading.Thread(target=run, args=(p,)) for p in polls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0, 1]
    assert searches(hub) == 1
    assert polls[0]() == 0 and searches(hub) == 1  # not due again within the interval


def test_a_refused_token_makes_the_poll_wait_without_losing_the_cursor(engine, hub, connector):
    enable(engine)
    deal = hub.add_deal("Acme")
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)
    hub.revoke_token(401)
    assert poll() == 0
    hub.restore_token()
    assert poll() == 1
    assert [e.crm_id for e in events(engine)] == [deal]


@pytest.mark.slow
def test_past_the_10000_result_cap_the_search_starts_again_from_the_last_date(
    engine, hub, connector
):
    enable(engine)
    base = modified_ms(hub.deal(hub.add_deal("First"))["properties"]["hs_lastmodifieddate"])
    for i in range(10_150):  # one millisecond apart, as a bulk import saves them
        hub.add_deal(f"Imported {i}", modified_ms=base + 1 + i)
    poll = HubSpotPoller(engine, connector.client, every_seconds=0)

    assert poll() == 10_151
    pages = [c.body for c in hub.calls_to("POST /crm/v3/objects/deals/search")]
    restarts = [p for p in pages if not p.get("after")]
    assert len(restarts) == 2  # the first search, and one from the last date it reached
    assert all(int(p.get("after") or 0) < 10_000 for p in pages)


def test_the_worker_polls_and_writes_back_only_with_a_token(settings, fake, engine, hub):
    def names(settings) -> list[str]:
        client = make_client(settings)
        homes = HomeRefresh(engine, client, settings)
        tasks = periodic_tasks(
            engine, settings, client, homes=homes, wake=lambda: None,
            invite_next=lambda _: "", lease_seconds=30,
        )  # fmt: skip
        return [name for name, _ in tasks]

    assert "hubspot_poll" not in names(settings) and crm_connectors(engine, settings) == {}
    on = replace(settings, hubspot_access_token="pat-x", hubspot_api_url=hub.url)
    assert {"hubspot_poll", "crm_writeback"} <= set(names(on))
    assert set(crm_connectors(engine, on)) == {"hubspot"}
