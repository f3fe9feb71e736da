"""Salesforce Outbound Messages (`POST /crm/salesforce`): the SOAP notification a
record-triggered Flow sends, as FakeSalesforce sends it (shaped from Salesforce's
Outbound Messaging WSDL), answered with its Ack and taken as "poll now".

The bot polls only every hour here, so only the message can bring the change in time;
what the message says of the Opportunity is never used: the poll reads it.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from bot.config import ConfigError, Settings
from bot.crm.salesforce.outbound import OutboundError, read_notifications
from bot.emulator.salesforce.outbound import notifications_body
from bot.emulator.salesforce.store import ORG_ID
from bot.models import Introduction, IntroStatus

from .conftest import wait_for
from .test_end_to_end import assert_built_from_salesforce, introduced, rows, seed_deal

OTHER_ORG = "00D5e000000KQ2eEAG"
QUERIES = "GET /services/data/*/query*"


@pytest.fixture
def outbound_bot(sf_bot):
    def make(**overrides):
        options = {"crm_poll_seconds": 3600, "salesforce_org_id": ORG_ID, **overrides}
        return sf_bot(**options)

    return make


def post_xml(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_message_makes_the_poll_run_now_and_is_acknowledged(outbound_bot, fake, sf):
    bot = outbound_bot()
    polls = len(sf.calls_to(QUERIES))
    opportunity = seed_deal(sf)
    sf.update_opportunity(opportunity, StageName="Negotiation/Review")

    delivery = sf.send_outbound_message(f"{bot.url}/crm/salesforce", [opportunity])
    assert delivery.status == 200 and delivery.acked, delivery.body

    intro = introduced(bot, sf, opportunity)  # well before the hourly poll
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_salesforce(fake, sf, opportunity)  # read by the poll, not the message
    assert len(sf.calls_to(QUERIES)) >= polls + 1

    again = sf.send_outbound_message(f"{bot.url}/crm/salesforce", [opportunity], serial=2)
    assert again.acked  # Salesforce's retry, or the next save: one more poll, no new work
    wait_for(lambda: len(sf.calls_to(QUERIES)) >= polls + 2, "the second poll")
    bot.wait_idle()
    assert len(rows(bot, Introduction)) == 1 and len(sf.tasks()) == 1


def test_another_orgs_message_is_refused_and_polls_nothing(outbound_bot, sf):
    bot = outbound_bot()
    polls = len(sf.calls_to(QUERIES))
    opportunity = seed_deal(sf)
    delivery = sf.send_outbound_message(
        f"{bot.url}/crm/salesforce", [opportunity], org_id=OTHER_ORG
    )
    assert delivery.status == 403 and not delivery.acked
    assert "OrganizationId is not SALESFORCE_ORG_ID" in delivery.body
    assert "<faultstring>" in delivery.body  # shown as Salesforce's delivery failure reason
    assert len(sf.calls_to(QUERIES)) == polls


def test_a_message_about_another_object_is_acknowledged_and_ignored(outbound_bot, sf):
    bot = outbound_bot()
    polls = len(sf.calls_to(QUERIES))
    account = sf.add_account("Initech")
    delivery = sf.send_outbound_message(
        f"{bot.url}/crm/salesforce", [account], object_name="Account"
    )
    assert delivery.acked  # else Salesforce retries it for a day
    assert len(sf.calls_to(QUERIES)) == polls


def test_without_the_org_id_the_endpoint_says_what_is_missing(sf_bot, sf):
    bot = sf_bot(crm_poll_seconds=3600)
    opportunity = seed_deal(sf)
    delivery = sf.send_outbound_message(f"{bot.url}/crm/salesforce", [opportunity])
    assert delivery.status == 503 and not delivery.acked
    assert "SALESFORCE_ORG_ID" in delivery.body


BODY = notifications_body(
    org_id=ORG_ID, instance_url="https://acme.my.salesforce.com",
    records=[{"Id": "006Dn000000000BIAQ", "StageName": "Negotiation/Review"}],
)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "not an XML document"),
        (b"{}", "not an XML document"),
        (b"<a><b></a>", "not an XML document"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>',
            "document type declaration",
        ),
        (b"<Envelope/>", "no soapenv:Body/notifications"),
        (BODY.replace(ORG_ID.encode(), b"00Dx"), "OrganizationId"),
        (BODY.replace(b"<sf:Id>006Dn000000000BIAQ</sf:Id>", b""), "no valid Id"),
    ],
)
def test_what_is_not_an_outbound_message_is_refused_with_the_reason(body, says):
    with pytest.raises(OutboundError, match=says):
        read_notifications(body)


def test_bad_bodies_answer_400_over_http(outbound_bot):
    bot = outbound_bot()
    status, answer = post_xml(f"{bot.url}/crm/salesforce", b"<a><b></a>")
    assert status == 400 and "not an XML document" in answer


def test_the_message_is_read_as_salesforce_writes_it():
    sent = read_notifications(BODY)
    assert sent.org_id == ORG_ID and sent.opportunity_ids == ("006Dn000000000BIAQ",)
    assert sent.others == 0


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SALESFORCE_ORG_ID": "00D123"}, "SALESFORCE_ORG_ID must be the org's id"),
        ({"SALESFORCE_ORG_ID": "a0D5e000000KQ2eEAG"}, "SALESFORCE_ORG_ID must be the org's id"),
    ],
)
def test_a_bad_org_id_is_one_line_for_the_operator(env, says):
    full = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_CLIENT_SECRET": "secret",
        **env,
    }
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(full)


def test_an_org_id_without_the_connector_is_refused():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SALESFORCE_ORG_ID": ORG_ID}
    with pytest.raises(ConfigError, match="the Salesforce connector is not"):
        Settings.from_env(env)


def test_both_forms_of_the_org_id_are_the_same_org():
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_CLIENT_SECRET": "secret",
        "SALESFORCE_ORG_ID": ORG_ID[:15],
    }
    from bot.crm.salesforce.outbound import same_org

    settings = Settings.from_env(env)
    assert same_org(settings.salesforce_org_id, ORG_ID)
    assert not same_org(settings.salesforce_org_id, OTHER_ORG)
