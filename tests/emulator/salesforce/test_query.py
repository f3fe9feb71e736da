"""SOQL: the connector's Opportunity query, relationship fields, the contact-role
subquery, filters and order, and Salesforce's error text for fields it cannot see."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from bot.emulator.salesforce import FakeSalesforce

from .conftest import Seeded, connector_soql

CUSTOM = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    "custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


def _refusal(client: Salesforce, soql: str) -> dict[str, str]:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.query(soql)
    assert refused.value.status == 400
    (error,) = refused.value.content
    return error


def test_connector_query_shape(client: Salesforce, seeded: Seeded) -> None:
    page = client.query(connector_soql())
    assert (page["totalSize"], page["done"], "nextRecordsUrl" in page) == (1, True, False)
    (record,) = page["records"]
    assert list(record)[:2] == ["attributes", "Id"]
    assert record["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v59.0/sobjects/Opportunity/{seeded.opportunity}",
    }
    assert {
        k: record[k]
        for k in (
            "Name",
            "StageName",
            "Amount",
            "CloseDate",
            "IsClosed",
            "IsWon",
            "Probability",
            "SystemModstamp",
        )
    } == {
        "Name": "Acme Corp - platform",
        "StageName": "Negotiation/Review",
        "Amount": 48000.0,
        "CloseDate": "2026-03-31",
        "IsClosed": False,
        "IsWon": False,
        "Probability": 90.0,
        "SystemModstamp": "2026-01-15T12:00:00.000+0000",
    }
    assert record["Account"]["Name"] == "Acme Corp"
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{seeded.owner}"},
        "Email": "alex@ours.example",
    }
    roles = record["OpportunityContactRoles"]
    assert (roles["totalSize"], roles["done"]) == (2, True)
    first, second = roles["records"]
    assert first["attributes"]["type"] == "OpportunityContactRole"
    assert first["Contact"]["attributes"]["type"] == "Contact"
    assert {k: first["Contact"][k] for k in ("Email", "FirstName", "LastName")} == {
        "Email": "cto@acme.example",
        "FirstName": "Cara",
        "LastName": "Cole",
    }
    assert (first["IsPrimary"], second["IsPrimary"], second["Contact"]["Email"]) == (
        True,
        False,
        None,
    )


def test_empty_lookup_and_no_contact_roles_are_null(sf: FakeSalesforce, client: Salesforce) -> None:
    sf.add_opportunity("Lonely deal", modstamp="2026-01-20T00:00:00Z")
    (record,) = client.query(connector_soql())["records"]
    assert record["Account"] is None and record["OpportunityContactRoles"] is None
    assert record["Owner"]["Email"] == "integration@careintro.fake"  # the run-as user


def test_stage_sets_closed_won_and_probability(sf: FakeSalesforce, client: Salesforce) -> None:
    won = sf.add_opportunity("Won", stage="Closed Won")
    lost = sf.add_opportunity("Lost", stage="Closed Lost")
    sf.add_stage("Contract Sent", 95)
    custom = sf.add_opportunity("Custom", stage="Contract Sent")
    rows = {
        r["Id"]: r
        for r in client.query("SELECT Id, IsClosed, IsWon, Probability FROM Opportunity")["records"]
    }
    assert (rows[won]["IsClosed"], rows[won]["IsWon"], rows[won]["Probability"]) == (
        True,
        True,
        100.0,
    )
    assert (rows[lost]["IsClosed"], rows[lost]["IsWon"], rows[lost]["Probability"]) == (
        True,
        False,
        0.0,
    )
    assert rows[custom]["Probability"] == 95.0
    sf.update_opportunity(custom, StageName="Closed Won")
    assert sf.opportunity(custom)["IsWon"] is True


def test_filters_order_and_limit(sf: FakeSalesforce, client: Salesforce) -> None:
    ids = [
        sf.add_opportunity(f"Deal {n}", amount=n * 1000, modstamp=f"2026-01-0{n}T08:00:00Z")
        for n in range(1, 6)
    ]
    after = client.query("SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-03T08:00:00Z")
    since = client.query("SELECT Id FROM Opportunity WHERE SystemModstamp >= 2026-01-03T08:00:00Z")
    assert [r["Id"] for r in after["records"]] == ids[3:]
    assert [r["Id"] for r in since["records"]] == ids[2:]
    newest = client.query("SELECT Id FROM Opportunity ORDER BY Amount DESC LIMIT 2")
    assert [r["Id"] for r in newest["records"]] == [ids[4], ids[3]]
    assert newest["totalSize"] == 2
    both = client.query("SELECT Id FROM Opportunity WHERE Amount >= 2000 AND name = 'deal 2'")
    assert [r["Id"] for r in both["records"]] == [ids[1]]  # text compares ignore case
    offset = client.query(
        "SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-01T09:00:00+01:00 ORDER BY Id"
    )
    assert len(offset["records"]) == 4
    soql = f"SELECT Id FROM Opportunity WHERE Id IN ('{ids[0][:15]}', '{ids[4]}')"  # noqa: S608
    chosen = client.query(soql)
    assert [r["Id"] for r in chosen["records"]] == [ids[0], ids[4]]


def test_hidden_field_answers_invalid_field_as_salesforce_words_it(
    sf: FakeSalesforce, client: Salesforce, seeded: Seeded
) -> None:
    sf.hide_field("Opportunity", "Amount")
    error = _refusal(client, "SELECT Id, Amount FROM Opportunity")
    assert error == {
        "message": "\nSELECT Id, Amount FROM Opportunity\n           ^\nERROR at Row:1:Column:12\n"
        f"No such column 'Amount' on entity 'Opportunity'. {CUSTOM}",
        "errorCode": "INVALID_FIELD",
    }
    assert "No such column 'Amount'" in _refusal(client, connector_soql())["message"]
    sf.show_field("Opportunity", "Amount")
    assert client.query(connector_soql())["totalSize"] == 1


def test_hidden_field_inside_the_subquery(
    sf: FakeSalesforce, client: Salesforce, seeded: Seeded
) -> None:
    sf.hide_field("Contact", "Email")
    error = _refusal(client, connector_soql())
    assert error["errorCode"] == "INVALID_FIELD"
    assert f"No such column 'Email' on entity 'Contact'. {CUSTOM}" in error["message"]
    column = connector_soql().index("Contact.Email") + 1  # the caret is on it, in the subquery
    assert f"ERROR at Row:1:Column:{column}\n" in error["message"]


def test_unknown_names(client: Salesforce) -> None:
    relationship = _refusal(client, "SELECT Id, Acount.Name FROM Opportunity")
    assert relationship["errorCode"] == "INVALID_FIELD"
    assert "Didn't understand relationship 'Acount' in field path." in relationship["message"]
    entity = _refusal(client, "SELECT Id FROM Opportunty")
    assert entity["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Opportunty' is not supported." in entity["message"]
    child = _refusal(client, "SELECT Id, (SELECT Id FROM ContactRoles) FROM Opportunity")
    assert child["errorCode"] == "INVALID_TYPE"
    assert "Didn't understand relationship 'ContactRoles' in FROM part" in child["message"]


def test_hidden_object(sf: FakeSalesforce, client: Salesforce) -> None:
    sf.hide_object("OpportunityContactRole")
    assert _refusal(client, connector_soql())["errorCode"] == "INVALID_TYPE"


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT Id, FROM Opportunity", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        (
            "SELECT Id FROM Opportunity WHERE SystemModstamp > '2026-01-01T00:00:00Z'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "value of filter criterion for field 'SystemModstamp' must be of type dateTime and "
            "should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01T00:00:00Z",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type date",
        ),
        (
            "SELECT Id FROM Task WHERE WhatId = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        (
            "SELECT Id FROM Opportunity WHERE IsWon = true OR IsClosed = false",
            "MALFORMED_QUERY",
            "supports AND only",
        ),
    ],
)
def test_malformed_queries(client: Salesforce, soql: str, code: str, reason: str) -> None:
    error = _refusal(client, soql)
    assert error["errorCode"] == code
    assert reason in error["message"] and "ERROR at Row:1:Column:" in error["message"]


def test_missing_q(client: Salesforce) -> None:
    assert _refusal(client, " ") == {
        "message": "A query string has to be specified",
        "errorCode": "MALFORMED_QUERY",
    }
