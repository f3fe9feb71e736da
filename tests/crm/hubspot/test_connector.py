"""`HubSpotConnector.read_deal` against the fake: what a deal is, from HubSpot's payloads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.crm.records import ContactPerson, DealRecord
from bot.emulator.hubspot.shapes import CUSTOM_PIPELINE_ID


def paths(hub) -> list[str]:
    return [f"{c.method} {c.path}" for c in hub.calls]


def test_a_deal_is_read_with_company_contacts_owner_and_stage_label(connector, hub, seeded):
    record = connector.read_deal(seeded.deal)

    assert record == DealRecord(
        crm_id=seeded.deal,
        stage="Contract Sent",
        company="Acme Corp",
        amount=Decimal("48000.00"),
        close_date=date(2025, 9, 30),
        owner_email="alex@ours.example",
        source="hubspot",
        stage_id="137498562",
        pipeline=CUSTOM_PIPELINE_ID,
        stage_status="open",
        probability=0.9,
        people=(
            ContactPerson("cto@acme.example", "Cara", "Cole", seeded.contact),
            ContactPerson(None, "Nora", "Noemail", seeded.contact_no_email),
        ),
    )


def test_contacts_come_in_one_batch_read_and_caches_serve_the_second_deal(connector, hub, seeded):
    connector.read_deal(seeded.deal)
    other = hub.add_deal("Second", owner_id=seeded.owner, company_ids=[seeded.company],
                         contact_ids=[seeded.contact])  # fmt: skip
    before = len(hub.calls)
    connector.read_deal(other)

    assert paths(hub)[before:] == [
        f"GET /crm/v3/objects/deals/{other}",
        f"GET /crm/v3/objects/companies/{seeded.company}",
        "POST /crm/v3/objects/contacts/batch/read",
    ]  # owner and pipelines cached


def test_a_deal_without_company_has_no_company_name(connector, hub):
    """SPEC "What a deal needs": no company, so the deal waits for one (the deal's name
    stands in only for an associated company that has no name)."""
    deal = hub.add_deal("Globex renewal", stage="contractsent")
    record = connector.read_deal(deal)
    assert record.company is None
    assert record.people == () and record.owner_email is None
    assert (record.stage, record.stage_id, record.pipeline) == (
        "Contract Sent", "contractsent", "default"
    )  # fmt: skip


def test_a_company_without_a_name_gives_the_deal_name(connector, hub):
    company = hub.add_company(None, domain="nameless.example")
    deal = hub.add_deal("Initech expansion", company_ids=[company])
    assert connector.read_deal(deal).company == "Initech expansion"


def test_closed_stages_are_won_at_probability_one_and_lost_at_zero(connector, hub):
    won = hub.add_deal("W", stage="closedwon")
    lost = hub.add_deal("L", stage="137498564", pipeline=CUSTOM_PIPELINE_ID)
    assert connector.read_deal(won).stage_status == "won"
    assert connector.read_deal(won).probability == 1.0
    lost_record = connector.read_deal(lost)
    assert (lost_record.stage, lost_record.stage_status) == ("Lost", "lost")


def test_a_deleted_deal_reads_as_deleted(connector, hub, seeded):
    hub.delete_deal(seeded.deal)
    assert connector.read_deal(seeded.deal) == DealRecord(
        seeded.deal, deleted=True, source="hubspot"
    )


def test_pipelines_are_read_once_and_again_when_an_unknown_stage_appears(connector, hub):
    first = hub.add_deal("A", stage="contractsent")
    connector.read_deal(first)
    connector.read_deal(first)
    assert paths(hub).count("GET /crm/v3/pipelines/deals") == 1

    hub.add_stage(CUSTOM_PIPELINE_ID, "137498599", "Legal Review", probability="0.95")
    moved = hub.add_deal("B", stage="137498599", pipeline=CUSTOM_PIPELINE_ID)
    record = connector.read_deal(moved)

    assert (record.stage, record.probability, record.stage_status) == (
        "Legal Review", 0.95, "open"
    )  # fmt: skip
    assert paths(hub).count("GET /crm/v3/pipelines/deals") == 2
    connector.read_deal(moved)
    assert paths(hub).count("GET /crm/v3/pipelines/deals") == 2


def test_an_owner_is_read_once(connector, hub, seeded):
    connector.read_deal(seeded.deal)
    connector.read_deal(seeded.deal)
    assert paths(hub).count(f"GET /crm/v3/owners/{seeded.owner}") == 1
