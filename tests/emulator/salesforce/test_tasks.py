"""Task write-back: create and read through simple-salesforce, field validation in
Salesforce's error codes, and the query a connector runs to find its own Task."""

# ruff: noqa: S608 - SOQL built from ids the test made, for a fake org
from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from bot.emulator.salesforce import FakeSalesforce

from .conftest import Seeded

NOTE = {
    "Subject": "Care team introduced",
    "Status": "Completed",
    "ActivityDate": "2026-02-01",
    "Description": "Erin (backup Sam) in #care-acme-corp",
}


def test_create_then_read(sf: FakeSalesforce, client: Salesforce, seeded: Seeded) -> None:
    created = client.Task.create({"WhatId": seeded.opportunity, **NOTE})
    assert set(created) == {"id", "success", "errors"}
    assert created["id"].startswith("00T") and len(created["id"]) == 18
    assert (created["success"], created["errors"]) == (True, [])
    task = client.Task.get(created["id"])
    assert task["attributes"] == {
        "type": "Task",
        "url": f"/services/data/v59.0/sobjects/Task/{created['id']}",
    }
    assert (task["WhatId"], task["Subject"], task["Status"], task["IsClosed"]) == (
        seeded.opportunity,
        "Care team introduced",
        "Completed",
        True,
    )
    assert (task["Priority"], task["ActivityDate"], task["OwnerId"]) == (
        "Normal",
        "2026-02-01",
        sf.integration_user_id,
    )
    assert task["CreatedDate"] == "2026-02-01T09:00:00.000+0000"
    assert [t["Id"] for t in sf.tasks(seeded.opportunity)] == [created["id"]]
    assert sf.call_count("POST /services/data/*/sobjects/Task/") == 1


def test_a_connector_finds_its_task_by_what_id(client: Salesforce, seeded: Seeded) -> None:
    created = client.Task.create({"WhatId": seeded.opportunity[:15], **NOTE})
    soql = f"SELECT Id, Subject FROM Task WHERE WhatId = '{seeded.opportunity}'"
    found = client.query(soql)
    assert [r["Id"] for r in found["records"]] == [created["id"]]
    none = client.query("SELECT Id FROM Task WHERE WhatId = '006Dn0000000999IAA'")
    assert none == {"totalSize": 0, "done": True, "records": []}
    tasks = client.query(
        f"SELECT Id, (SELECT Id FROM Tasks) FROM Opportunity WHERE Id = '{seeded.opportunity}'"
    )["records"][0]["Tasks"]
    assert tasks["totalSize"] == 1


def _refused(client: Salesforce, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.Task.create(body)
    (error,) = refused.value.content
    return error


@pytest.mark.parametrize(
    ("change", "code", "fields"),
    [
        ({"Nonsense__c": 1}, "INVALID_FIELD", None),
        ({"IsClosed": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsClosed"]),
        ({"WhatId": "not-an-id"}, "MALFORMED_ID", ["WhatId"]),
        ({"WhatId": "006Dn0000000999IAA"}, "INVALID_CROSS_REFERENCE_KEY", ["WhatId"]),
        ({"Status": "Done"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
        ({"Subject": "x" * 256}, "STRING_TOO_LONG", ["Subject"]),
        ({"ActivityDate": "2026-13-01"}, "JSON_PARSER_ERROR", None),
    ],
)
def test_invalid_tasks(
    client: Salesforce, seeded: Seeded, change: dict[str, Any], code: str, fields: list[str] | None
) -> None:
    error = _refused(client, {"WhatId": seeded.opportunity, **NOTE, **change})
    assert error["errorCode"] == code and error.get("fields") == fields


def test_what_id_of_the_wrong_kind(client: Salesforce, seeded: Seeded) -> None:
    error = _refused(client, {"WhatId": seeded.contact, **NOTE})
    assert error == {
        "message": f"Related To ID: id value of incorrect type: {seeded.contact}",
        "errorCode": "FIELD_INTEGRITY_EXCEPTION",
        "fields": ["WhatId"],
    }
    assert _refused(client, {"WhoId": seeded.opportunity})["errorCode"] == (
        "FIELD_INTEGRITY_EXCEPTION"
    )


def test_unknown_field_words(client: Salesforce, seeded: Seeded) -> None:
    error = _refused(client, {"WhatId": seeded.opportunity, "Body": "x"})
    assert error == {
        "message": "No such column 'Body' on sobject of type Task",
        "errorCode": "INVALID_FIELD",
    }


def test_missing_task_is_404(client: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        client.Task.get("00TDn0000000999MAA")
    assert missing.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_read_other_records_by_id(client: Salesforce, seeded: Seeded) -> None:
    opportunity = client.Opportunity.get(seeded.opportunity)
    assert opportunity["Name"] == "Acme Corp - platform" and opportunity["Amount"] == 48000.0
    assert client.Contact.get(seeded.contact)["Email"] == "cto@acme.example"
