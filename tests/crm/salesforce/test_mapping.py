"""What an Opportunity becomes, and what kind of stage it is: won and lost from IsWon /
IsClosed, pre-close from the stage name or the probability (Salesforce's percent), all
through the one rule in `bot.flows.stage_kinds`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bot.config import Settings
from bot.crm.records import DealRecord
from bot.crm.salesforce import mapping
from bot.flows.stage_kinds import LOST, OPEN, PRECLOSE, WON, Stage, kind

from .conftest import seed_acme


def stage_of(record: DealRecord) -> Stage:
    return Stage(record.stage or "", status=record.stage_status, probability=record.probability)


def test_an_opportunity_read_by_id_is_the_whole_deal(sf, connector):
    seeded = seed_acme(sf)
    record = connector.read_deal(seeded.opportunity)
    assert record.crm_id == seeded.opportunity and record.source == "salesforce"
    assert (record.company, record.amount, str(record.close_date)) == (
        "Acme Corp", Decimal("48000.00"), "2026-03-31"
    )  # fmt: skip
    assert record.owner_email == "alex@ours.example"  # normalised
    assert (record.stage, record.stage_status, record.probability) == ("Negotiation/Review",
                                                                       "open", 0.9)  # fmt: skip
    cara, nora = record.people
    assert (cara.email, cara.first_name, cara.crm_id) == ("cto@acme.example", "Cara",
                                                          seeded.contact)  # fmt: skip
    assert (nora.email, nora.last_name, nora.crm_id) == (None, "Noemail", seeded.nameless)
    assert len(sf.calls_to("GET /services/data/*/query*")) == 1


def test_a_deleted_or_unknown_opportunity_reads_as_deleted(sf, connector):
    seeded = seed_acme(sf)
    sf.delete_opportunity(seeded.opportunity)
    assert connector.read_deal(seeded.opportunity).deleted
    with pytest.raises(ValueError, match="not a Salesforce record id"):
        connector.read_deal("D-42' OR Name != '")


def test_an_opportunity_without_account_has_no_company_and_waits(sf, connector):
    opportunity = sf.add_opportunity("Lonely deal", stage="Negotiation/Review")
    record = connector.read_deal(opportunity)
    assert record.company is None and record.people == () and record.owner_email is not None


@pytest.mark.parametrize(
    ("stage", "closed", "won", "probability", "threshold", "expected"),
    [
        ("Negotiation/Review", False, False, 90, None, PRECLOSE),  # by name (the default list)
        ("Value Proposition", False, False, 50, 0.8, OPEN),
        ("Contract Out", False, False, 85, 0.8, PRECLOSE),  # a custom stage, by probability
        ("Contract Out", False, False, 85, None, OPEN),  # names only when the setting is empty
        ("Signed", True, True, 100, None, WON),  # IsWon: whatever the name
        ("Went Dark", True, False, 0, None, LOST),  # IsClosed and not won
        ("Closed Won", False, False, 90, None, OPEN),  # Salesforce says open: it is open
    ],
)
def test_stage_kinds_come_from_salesforces_flags_and_the_shared_rule(
    stage, closed, won, probability, threshold, expected
):
    opportunity = {"Id": "006Dn000000000AIAA", "StageName": stage, "IsClosed": closed,
                   "IsWon": won, "Probability": probability}  # fmt: skip
    record = mapping.deal_record(opportunity)
    assert record.probability == probability / 100
    settings = replace(Settings(), preclose_probability=threshold)
    assert kind(stage_of(record), settings) == expected


def test_a_custom_won_stage_in_the_fake_org_is_won(sf, connector):
    sf.add_stage("Signed", 100, closed=True, won=True)
    opportunity = sf.add_opportunity("Acme", stage="Signed")
    record = connector.read_deal(opportunity)
    assert (record.stage_status, record.probability) == ("won", 1.0)
    assert kind(stage_of(record), Settings()) == WON


def test_hostile_values_are_cleaned_and_bad_emails_dropped():
    record = mapping.deal_record({
        "Id": "006Dn000000000AIAA", "Name": "Deal", "Amount": "lots",
        "Account": {"Name": "  <!channel>\n Acme  "}, "Owner": {"Email": "not an email"},
        "OpportunityContactRoles": {"records": [
            {"ContactId": "003Dn000000000AIAA", "IsPrimary": False,
             "Contact": {"Email": "bad@", "FirstName": "Bo", "LastName": "B"}},
        ]},
    })  # fmt: skip
    assert record.company == "<!channel> Acme"  # escaped where it is shown, not here
    assert record.amount is None and record.owner_email is None
    assert [(p.email, p.first_name) for p in record.people] == [(None, "Bo")]
