"""The daily API allowance (Sforce-Limit-Info, REQUEST_LIMIT_EXCEEDED) and scripted
faults: 5xx, dropped connections before and after a Task is created, delays, hangs."""

from __future__ import annotations

import threading

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

from bot.emulator.salesforce import FakeSalesforce

from .conftest import Seeded, fetch_token, raw

TASKS = "POST /services/data/*/sobjects/Task/"
QUERY = "/services/data/v59.0/query?q=SELECT+Id+FROM+Opportunity"
NOTE = {"Subject": "Care team introduced", "Status": "Completed"}


def test_limit_info_header_counts_api_calls_only(
    sf: FakeSalesforce, client: Salesforce, token: str
) -> None:
    client.query("SELECT Id FROM Opportunity")
    assert client.api_usage["api-usage"].used == 1
    assert client.api_usage["api-usage"].total == 100_000
    fetch_token(sf)  # the token endpoint is not an API call
    answer = raw(sf, "GET", QUERY, token)
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert sf.api_usage == (2, 100_000)
    limits = raw(sf, "GET", "/services/data/v59.0/limits/", token).json()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 99_997}


def test_request_limit_exceeded_after_the_allowance(
    sf: FakeSalesforce, client: Salesforce, seeded: Seeded
) -> None:
    sf.set_allowance(5)
    sf.use_api_calls(4)  # other integrations on the same org
    client.query("SELECT Id FROM Opportunity")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        client.Task.create({"WhatId": seeded.opportunity, **NOTE})
    assert refused.value.status == 403
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sf.tasks() == [] and sf.api_usage == (5, 5)  # a refused call changes nothing
    sf.advance_time(86_400)  # the rolling 24 hours move on
    assert client.Task.create({"WhatId": seeded.opportunity, **NOTE})["success"] is True


@pytest.mark.parametrize(
    ("status", "code"), [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION")]
)
def test_server_errors_then_recovery(
    sf: FakeSalesforce, client: Salesforce, status: int, code: str
) -> None:
    sf.fail_next("GET /services/data/*/query/", status, count=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as failed:
            client.query("SELECT Id FROM Opportunity")
        assert failed.value.status == status
        assert failed.value.content[0]["errorCode"] == code
    assert client.query("SELECT Id FROM Opportunity")["done"] is True
    assert [c.fault for c in sf.calls_to("GET /services/data/*/query/")] == [
        f"http_{status}",
        f"http_{status}",
        None,
    ]


def test_retry_after_when_asked(sf: FakeSalesforce, token: str) -> None:
    sf.fail_next("/services/data/*", 503, retry_after=2)
    answer = raw(sf, "GET", QUERY, token)
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "2")


def test_drop_before_the_effect_creates_nothing(
    sf: FakeSalesforce, client: Salesforce, seeded: Seeded
) -> None:
    sf.drop_next(TASKS)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.Task.create({"WhatId": seeded.opportunity, **NOTE})
    assert sf.tasks() == []
    assert [(c.status, c.fault) for c in sf.calls_to(TASKS)] == [(None, "drop")]


def test_drop_after_the_effect_leaves_a_task_nobody_heard_of(
    sf: FakeSalesforce, client: Salesforce, seeded: Seeded
) -> None:
    sf.drop_next(TASKS, after_effect=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.Task.create({"WhatId": seeded.opportunity, **NOTE})
    (task,) = sf.tasks(seeded.opportunity)
    soql = f"SELECT Id FROM Task WHERE WhatId = '{seeded.opportunity}'"  # noqa: S608
    assert [r["Id"] for r in client.query(soql)["records"]] == [task["Id"]]


def test_a_delayed_answer_outlasts_a_short_timeout(
    sf: FakeSalesforce, seeded: Seeded, token: str
) -> None:
    sf.delay_next(TASKS, 0.5)
    path = "/services/data/v59.0/sobjects/Task/"
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            sf.instance_url + path,
            json={"WhatId": seeded.opportunity, **NOTE},
            headers={"Authorization": f"Bearer {token}"},
            timeout=0.2,
        )
    deadline = threading.Event()
    deadline.wait(0.5)
    assert len(sf.tasks()) == 1  # it happened all the same


def test_hang_holds_a_call_until_released(sf: FakeSalesforce, token: str) -> None:
    release = sf.hang_next("GET /services/data/*/query*")
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(raw(sf, "GET", QUERY, token).status_code)
    )
    caller.start()
    caller.join(0.3)
    assert caller.is_alive() and answers == []
    release.set()
    caller.join(5)
    assert answers == [200]


def test_call_counts_per_path(sf: FakeSalesforce, client: Salesforce, seeded: Seeded) -> None:
    client.query("SELECT Id FROM Opportunity")
    client.query("SELECT Id FROM Opportunity")
    client.Task.create({"WhatId": seeded.opportunity, **NOTE})
    assert sf.call_counts() == {
        "POST /services/oauth2/token": 1,
        "GET /services/data/v59.0/query/": 2,
        "POST /services/data/v59.0/sobjects/Task/": 1,
    }
    sf.reset_calls()
    assert sf.calls == []


def test_unknown_paths_and_versions(sf: FakeSalesforce, token: str) -> None:
    assert raw(sf, "GET", "/services/data/v59.0/nothing", token).status_code == 404
    newer = raw(sf, "GET", QUERY.replace("v59.0", "v99.0"), token)
    assert newer.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
