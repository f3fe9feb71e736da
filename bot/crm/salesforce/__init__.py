"""The Salesforce connector: a package of its own (token, client, mapping, connector,
poller, Task notes), on when `SALESFORCE_INSTANCE_URL`, `SALESFORCE_CLIENT_ID` and
`SALESFORCE_CLIENT_SECRET` are set.

Why `simple-salesforce` (a runtime dependency since this connector): it is the
maintained Python client of Salesforce's REST API (query, `nextRecordsUrl` paging, sObject
calls, Salesforce's error bodies as typed exceptions), it takes an `instance_url` and a
`requests.Session`, so the same code talks to an org and to `FakeSalesforce` over
HTTPS, and the test suite already drives the fake with it. What it lacks we add here:
its client-credentials login posts to `login.salesforce.com`, so `auth.py` fetches the
token from the org's own `/services/oauth2/token`; and `client.py` renews the token on a
401, waits out 5xx answers and the API allowance, and names what a failure means.
"""

from bot.crm.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
