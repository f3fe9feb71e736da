"""The OAuth 2.0 client credentials flow: the connector's access token, fetched and renewed.

Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration":
`POST {My Domain}/services/oauth2/token` with `grant_type=client_credentials` and the
connected (or external client) app's consumer key and secret; the token acts as the
app's run-as user. simple-salesforce's own client-credentials login posts to
`login.salesforce.com`, which does not serve this flow, so the token is fetched here.
The answer has neither a refresh token nor an `expires_in`: the session simply times out
(the org's session settings say when) and the REST API then answers 401
INVALID_SESSION_ID, which is when `SalesforceClient` asks for a new one.
"""

from __future__ import annotations

import threading

import requests

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
TIMEOUT_SECONDS = 30.0


class GrantRefused(Exception):
    """The token endpoint refused the app's credentials (invalid_grant, invalid_client...):
    only a person can fix it, in Salesforce or in the settings."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


class TokenUnavailable(Exception):
    """The token endpoint did not answer usefully (a 5xx, a lost connection): try later."""


class TokenSource:
    """One token per connector, shared by its threads; renewed once however many notice."""

    def __init__(
        self, *, instance_url: str, client_id: str, client_secret: str, session: requests.Session
    ) -> None:
        self.url = instance_url.rstrip("/") + TOKEN_PATH
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._session = session
        self._lock = threading.Lock()
        self._token: str | None = None
        self.fetched = 0  # tokens asked for: what a test counts

    def current(self) -> str:
        """The token held (fetched the first time): valid until Salesforce says 401."""
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return self._token

    def renew(self, stale: str) -> str:
        """A new token after Salesforce refused `stale`; when another thread renewed it
        already, that one."""
        with self._lock:
            if self._token is None or self._token == stale:
                self._token = self._fetch()
            return self._token

    def _fetch(self) -> str:
        try:
            answer = self._session.post(self.url, data=self._form, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise TokenUnavailable(type(exc).__name__) from None
        self.fetched += 1
        body = _json(answer)
        if answer.status_code == 200 and body.get("access_token"):
            return str(body["access_token"])
        if answer.status_code in (400, 401, 403) and body.get("error"):
            description = str(body.get("error_description") or "")[:120]
            raise GrantRefused(str(body["error"])[:60], description)
        raise TokenUnavailable(f"HTTP {answer.status_code}")


def _json(answer: requests.Response) -> dict[str, object]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
