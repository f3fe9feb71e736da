"""Records through the official client: deals with associations, batch reads, owners,
pipelines, notes, and the error shapes of unknown ids."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.deals import ApiException
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate

from bot.emulator.hubspot import FakeHubSpot

from .conftest import Seeded, raw


def test_deal_reads_in_hubspots_shape(client: Any, seeded: Seeded) -> None:
    deal = client.crm.deals.basic_api.get_by_id(
        seeded.deal,
        properties=["dealname", "amount", "closedate", "dealstage", "pipeline", "hubspot_owner_id"],
        associations=["companies", "contacts"],
    )
    assert deal.id == seeded.deal
    assert deal.properties["dealname"] == "Acme Corp - platform"
    assert deal.properties["amount"] == "48000"
    assert deal.properties["hubspot_owner_id"] == seeded.owner
    assert deal.properties["hs_object_id"] == seeded.deal
    companies = deal.associations["companies"].results
    assert {(a.id, a.type) for a in companies} == {
        (seeded.company, "deal_to_company"),
        (seeded.company, "deal_to_company_unlabeled"),
    }
    contacts = [a.id for a in deal.associations["contacts"].results]
    assert contacts == [seeded.contact, seeded.contact_no_email]


def test_raw_deal_json_has_iso_stamps_and_null_for_unset(hub: FakeHubSpot) -> None:
    deal_id = hub.add_deal("Bare deal")
    path = f"/crm/v3/objects/deals/{deal_id}?properties=dealname,amount&associations=companies"
    answer = raw(hub, "GET", path)
    assert answer.status == 200
    body = answer.body
    assert set(body) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert body["properties"]["amount"] is None
    assert body["createdAt"].endswith("Z") and body["archived"] is False


def test_unknown_deal_is_a_404_with_hubspots_error_body(client: Any, hub: FakeHubSpot) -> None:
    with pytest.raises(ApiException) as info:
        client.crm.deals.basic_api.get_by_id("999")
    assert info.value.status == 404
    body = raw(hub, "GET", "/crm/v3/objects/deals/999").body
    assert body["status"] == "error"
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["correlationId"] and body["message"]


def test_batch_read_companies_and_contacts(client: Any, seeded: Seeded) -> None:
    companies = client.crm.companies.batch_api.read(
        {"inputs": [{"id": seeded.company}], "properties": ["name"]}
    )
    assert companies.status == "COMPLETE"
    assert [c.properties["name"] for c in companies.results] == ["Acme Corp"]
    contacts = client.crm.contacts.batch_api.read(
        {
            "inputs": [{"id": seeded.contact}, {"id": seeded.contact_no_email}],
            "properties": ["email", "firstname", "lastname"],
        }
    )
    emails = {c.properties["firstname"]: c.properties["email"] for c in contacts.results}
    assert emails == {"Cara": "cto@acme.example", "Nora": None}


def test_batch_read_with_unknown_ids_is_a_207(hub: FakeHubSpot, seeded: Seeded) -> None:
    body = {"inputs": [{"id": seeded.company}, {"id": "404404"}], "properties": ["name"]}
    answer = raw(hub, "POST", "/crm/v3/objects/companies/batch/read", body)
    assert answer.status == 207
    assert answer.body["numErrors"] == 1
    assert answer.body["errors"][0]["context"] == {"ids": ["404404"]}
    assert len(answer.body["results"]) == 1


def test_associations_v4(client: Any, seeded: Seeded) -> None:
    page = client.crm.associations.v4.basic_api.get_page("deals", seeded.deal, "companies")
    (only,) = page.results
    assert only.to_object_id == seeded.company
    assert {(t.type_id, t.label) for t in only.association_types} == {(5, "Primary"), (341, None)}
    contacts = client.crm.associations.v4.basic_api.get_page("deal", seeded.deal, "0-1")
    assert [r.to_object_id for r in contacts.results] == [seeded.contact, seeded.contact_no_email]


def test_owner_by_id_and_by_email(client: Any, hub: FakeHubSpot, seeded: Seeded) -> None:
    owner = client.crm.owners.owners_api.get_by_id(seeded.owner)
    assert (owner.email, owner.first_name, owner.last_name) == (
        "alex@ours.example",
        "Alex",
        "Account",
    )
    assert owner.type == "PERSON" and isinstance(owner.user_id, int)
    listed = client.crm.owners.owners_api.get_page(email="alex@ours.example")
    assert [o.id for o in listed.results] == [seeded.owner]
    assert raw(hub, "GET", "/crm/v3/owners/123").status == 404


def test_pipelines_default_and_custom(client: Any) -> None:
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    default = next(p for p in pipelines if p.id == "default")
    stages = {s.id: (s.label, s.metadata) for s in default.stages}
    assert list(stages) == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    assert stages["closedwon"] == ("Closed Won", {"isClosed": "true", "probability": "1.0"})
    assert stages["closedlost"][1] == {"isClosed": "true", "probability": "0.0"}
    assert stages["contractsent"] == ("Contract Sent", {"isClosed": "false", "probability": "0.9"})
    custom = next(p for p in pipelines if p.id != "default")
    numeric = next(s for s in custom.stages if s.id == "137498562")
    assert numeric.label == "Contract Sent"
    assert [s.display_order for s in custom.stages] == list(range(len(custom.stages)))


def _note(deal_id: str, body: str = "Introduced <b>Erin</b>") -> SimplePublicObjectInputForCreate:
    return SimplePublicObjectInputForCreate(
        properties={"hs_note_body": body, "hs_timestamp": "2025-06-01T10:00:00Z"},
        associations=[
            {
                "to": {"id": deal_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}],
            }
        ],
    )


def test_note_created_on_a_deal_is_visible_from_the_deal(
    client: Any, hub: FakeHubSpot, seeded: Seeded
) -> None:
    note = client.crm.objects.notes.basic_api.create(_note(seeded.deal))
    assert note.properties["hs_note_body"] == "Introduced <b>Erin</b>"
    assert note.properties["hs_timestamp"] == "2025-06-01T10:00:00.000Z"
    v4 = client.crm.associations.v4.basic_api.get_page("deals", seeded.deal, "notes")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in v4.results] == [
        (note.id, 213)
    ]
    v3 = raw(hub, "GET", f"/crm/v3/objects/deals/{seeded.deal}/associations/notes").body
    assert v3["results"] == [{"id": note.id, "type": "deal_to_note"}]
    again = client.crm.objects.notes.basic_api.get_by_id(
        note.id, properties=["hs_note_body"], associations=["deals"]
    )
    assert [a.id for a in again.associations["deals"].results] == [seeded.deal]
    assert [n["id"] for n in hub.notes_for_deal(seeded.deal)] == [note.id]


def test_note_validation_errors(hub: FakeHubSpot, seeded: Seeded) -> None:
    no_time = {"properties": {"hs_note_body": "x"}}
    answer = raw(hub, "POST", "/crm/v3/objects/notes", no_time)
    assert (answer.status, answer.body["category"]) == (400, "VALIDATION_ERROR")
    bad_target = _note("777").to_dict()
    assert raw(hub, "POST", "/crm/v3/objects/notes", bad_target).status == 400
    wrong_type = _note(seeded.deal).to_dict()
    wrong_type["associations"][0]["types"][0]["associationTypeId"] = 3  # deal->contact
    assert raw(hub, "POST", "/crm/v3/objects/notes", wrong_type).status == 400
    assert hub.notes() == []


def test_move_stage_bumps_last_modified(hub: FakeHubSpot, seeded: Seeded) -> None:
    before = hub.deal(seeded.deal)["properties"]["hs_lastmodifieddate"]
    event = hub.move_stage(seeded.deal, "137498562")
    after = hub.deal(seeded.deal)
    assert after["properties"]["dealstage"] == "137498562"
    assert after["properties"]["hs_lastmodifieddate"] > before
    assert after["updatedAt"] == after["properties"]["hs_lastmodifieddate"]
    assert event["subscriptionType"] == "deal.propertyChange"
    assert (event["propertyName"], event["propertyValue"]) == ("dealstage", "137498562")
    assert event["objectId"] == int(seeded.deal)


def test_malformed_input_is_a_400_never_a_500(hub: FakeHubSpot, seeded: Seeded) -> None:
    note = _note(seeded.deal).to_dict()
    note["properties"]["hs_timestamp"] = "yesterday"
    assert raw(hub, "POST", "/crm/v3/objects/notes", note).status == 400
    path = f"/crm/v4/objects/deals/{seeded.deal}/associations/notes?limit=many"
    assert raw(hub, "GET", path).status == 400
    assert raw(hub, "POST", "/crm/v3/objects/deals/search", {"after": "x"}).status == 400
    flt = {"propertyName": "amount", "operator": "GT", "value": "lots"}
    bad = {"filterGroups": [{"filters": [flt]}]}
    assert raw(hub, "POST", "/crm/v3/objects/deals/search", bad).status == 400
