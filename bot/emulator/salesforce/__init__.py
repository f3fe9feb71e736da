"""A local fake of Salesforce's REST API, so the Salesforce connector runs without an org.

`FakeSalesforce` serves, over HTTPS on 127.0.0.1 (an OS-chosen port), the OAuth 2.0
client credentials token endpoint and the REST resources a polling connector uses:
SOQL queries with relationship fields and a contact-role subquery, `nextRecordsUrl`
paging, Task create and read, with Salesforce's error bodies, the daily API allowance,
and scripted faults. The test suite drives it with the real `simple-salesforce`:

    with FakeSalesforce(client_id="id", client_secret="secret") as sf:
        os.environ["REQUESTS_CA_BUNDLE"] = sf.ca_pem_path  # trust the fake's test CA
        token = requests.post(sf.token_url, data={"grant_type": "client_credentials",
                              "client_id": "id", "client_secret": "secret"}).json()
        client = Salesforce(instance_url=sf.instance_url, session_id=token["access_token"])

(A requests `Session(verify=ca)` alone is not enough where REQUESTS_CA_BUNDLE is set:
requests lets that variable override `Session.verify`; a per-call `verify=` does win.)

Where the shapes come from: Salesforce's REST API Developer Guide ("Query", "Query More
Results", "Query Options Header", "Limit Info Header", "sObject Basic Information",
"sObject Rows", "Status Codes and Error Responses", "Limits"), Salesforce Help ("OAuth
2.0 Client Credentials Flow", "What is a Case-Safe ID"), the SOQL and SOSL Reference,
and simple-salesforce's source and tests (github.com/simple-salesforce/simple-salesforce:
`api.py` query/query_more/query_all_iter and `Sforce-Limit-Info` parsing, `login.py`
token_login and its Basic-auth client credentials request, `util.py` exception_handler).

Only the standard library is needed, plus `cryptography` (which simple-salesforce
installs) for the built-in test CA; pass `tls=trustme.CA()` to use trustme instead.
"""

from bot.emulator.salesforce.controls import NO_RUN_AS_USER
from bot.emulator.salesforce.dispatch import CallRecord
from bot.emulator.salesforce.fake import FakeSalesforce

__all__ = ["NO_RUN_AS_USER", "CallRecord", "FakeSalesforce"]
