"""nextRecordsUrl paging through simple-salesforce's query, query_more and
query_all_iter; batch sizes; cursors that close; same-second SystemModstamps."""

# ruff: noqa: S608 - SOQL built from ids the test made, for a fake org
from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from bot.emulator.salesforce import FakeSalesforce

from .conftest import CLIENT_ID, CLIENT_SECRET, connector_soql, fetch_token, raw

BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def _seed(sf: FakeSalesforce, count: int) -> list[str]:
    contact = sf.add_contact("cto@acme.example", "Cara", "Cole")
    return [sf.add_opportunity(f"Deal {n}", contact_ids=[contact]) for n in range(count)]


def test_pages_of_the_requested_batch_size(sf: FakeSalesforce, client: Salesforce) -> None:
    ids = _seed(sf, 450)
    first = client.query(connector_soql(), headers=BATCH_200)
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    locator, offset = first["nextRecordsUrl"].rsplit("/", 1)[1].split("-")
    assert first["nextRecordsUrl"] == f"/services/data/v59.0/query/{locator}-200"
    assert locator.startswith("01g") and offset == "200"
    second = client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    third = client.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert (len(second["records"]), second["done"]) == (200, False)
    assert (len(third["records"]), third["done"], "nextRecordsUrl" in third) == (50, True, False)
    seen = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert seen == ids  # ORDER BY SystemModstamp, Id: same second, so by id
    assert third["records"][0]["OpportunityContactRoles"]["totalSize"] == 1
    by_locator = client.query_more(f"{locator}-400")  # the identifier form works too
    assert [r["Id"] for r in by_locator["records"]] == ids[400:]


def test_query_all_iter_follows_every_page(sf: FakeSalesforce, client: Salesforce) -> None:
    ids = _seed(sf, 2001)
    seen = [r["Id"] for r in client.query_all_iter(connector_soql())]
    assert seen == ids
    counts = sf.call_counts()
    assert counts["GET /services/data/v59.0/query/"] == 1  # default batch: 2,000
    assert sum(n for path, n in counts.items() if "/query/01g" in path) == 1


def test_batch_size_is_kept_between_200_and_2000(sf: FakeSalesforce, client: Salesforce) -> None:
    _seed(sf, 250)
    small = client.query(
        "SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=10"}
    )
    assert len(small["records"]) == 200


def test_max_batch_returns_fewer_than_asked(ca: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeSalesforce(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tls=ca, max_batch=50
    ) as sf:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_pem_path)
        token = fetch_token(sf).json()["access_token"]
        client = Salesforce(instance_url=sf.instance_url, session_id=token)
        _seed(sf, 120)
        pages = [client.query("SELECT Id FROM Opportunity")]
        while not pages[-1]["done"]:
            pages.append(client.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True))
        assert [len(p["records"]) for p in pages] == [50, 50, 20]


def test_closed_cursors_answer_invalid_query_locator(
    sf: FakeSalesforce, client: Salesforce, token: str
) -> None:
    _seed(sf, 300)
    first = client.query("SELECT Id FROM Opportunity", headers=BATCH_200)
    sf.expire_query_locators()
    with pytest.raises(SalesforceMalformedRequest) as closed:
        client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert closed.value.content == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]
    oldest = client.query("SELECT Id FROM Opportunity", headers=BATCH_200)
    for _ in range(10):  # ten more cursors: the oldest is closed
        client.query("SELECT Id FROM Opportunity", headers=BATCH_200)
    assert raw(sf, "GET", oldest["nextRecordsUrl"], token).status_code == 400
    sf.advance_time(15 * 60 + 1)  # and an idle one closes after 15 minutes
    newest = client.query("SELECT Id FROM Opportunity", headers=BATCH_200)
    sf.advance_time(15 * 60 + 1)
    assert raw(sf, "GET", newest["nextRecordsUrl"], token).status_code == 400


def test_rows_are_fixed_when_the_query_runs(sf: FakeSalesforce, client: Salesforce) -> None:
    ids = _seed(sf, 250)
    first = client.query("SELECT Id, Name FROM Opportunity ORDER BY Id", headers=BATCH_200)
    sf.add_opportunity("Late arrival")
    sf.update_opportunity(ids[-1], Name="Renamed")
    rest = client.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Id"] for r in rest["records"]] == ids[200:]
    assert rest["records"][-1]["Name"] == "Renamed"  # values as of the fetch


def test_same_second_saves_share_a_modstamp(sf: FakeSalesforce, client: Salesforce) -> None:
    sf.set_time(None)
    with sf.same_second():
        first = sf.add_opportunity("First")
        second = sf.add_opportunity("Second")
        sf.update_opportunity(first, StageName="Qualification")
    stamps = {sf.opportunity(i)["SystemModstamp"] for i in (first, second)}
    assert len(stamps) == 1 and next(iter(stamps)).endswith(".000+0000")
    (stamp,) = stamps
    after = client.query(f"SELECT Id FROM Opportunity WHERE SystemModstamp > {stamp[:19]}Z")
    since = client.query(
        f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {stamp[:19]}Z "
        "ORDER BY SystemModstamp, Id"
    )
    assert after["totalSize"] == 0  # a strict > cursor misses same-second saves
    assert [r["Id"] for r in since["records"]] == [first, second]


def test_modstamps_never_go_backwards(sf: FakeSalesforce) -> None:
    deal = sf.add_opportunity("Deal", modstamp="2026-02-01T10:00:00Z")
    assert sf.update_opportunity(deal, Amount=5) == "2026-02-01T10:00:00.000+0000"  # clock 09:00
    sf.advance_time(3601.7)
    assert sf.touch(deal) == "2026-02-01T10:00:01.000+0000"  # whole seconds, as stored
    explicit = sf.update_opportunity(deal, modstamp="2026-03-01T00:00:00Z", Name="x")
    assert explicit == "2026-03-01T00:00:00.000+0000"
    assert sf.update_opportunity(deal, Name="y") == explicit  # never before the latest
