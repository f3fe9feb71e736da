"""The OAuth 2.0 client credentials flow and the access tokens it hands out.

Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration":
`POST /services/oauth2/token` with `grant_type=client_credentials` and the app's
consumer key and secret, in the form body or (RFC 6749 §2.3.1, what simple-salesforce
sends) an HTTP Basic header; the token acts as the app's run-as user. The answer has
`access_token`, `signature` (base64 HMAC-SHA256 of `id` + `issued_at` keyed with the
secret), `scope`, `instance_url`, `id`, `token_type` and `issued_at` (epoch ms); no
`expires_in` and no refresh token: the session simply times out, and the REST API then
answers 401 INVALID_SESSION_ID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bot.emulator.salesforce import shapes
from bot.emulator.salesforce.store import ORG_ID


@dataclass
class TokenDesk:
    """Credentials the connected app accepts, the tokens issued, and what refuses them."""

    client_id: str
    client_secret: str
    scope: str = "api"
    session_seconds: float | None = None  # None: tokens last until expire_tokens()
    grant_refusal: str | None = None  # invalid_grant's error_description while refused
    issued: dict[str, float] = field(default_factory=dict)  # token -> issued at (org clock)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def valid(self, token: str | None, now: float) -> bool:
        with self.lock:
            issued = self.issued.get(token or "")
        if issued is None:
            return False
        return self.session_seconds is None or now - issued < self.session_seconds

    def expire_all(self) -> None:
        with self.lock:
            self.issued.clear()

    def token_request(
        self, body: bytes, authorization: str, now: float, instance_url: str, user_id: str
    ) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, client_secret = _basic(authorization) or (
            form.get("client_id"),
            form.get("client_secret"),
        )
        grant = form.get("grant_type")
        if not grant:
            return 400, shapes.oauth_error("invalid_request", "grant type is missing")
        if grant != "client_credentials":
            return 400, shapes.oauth_error("unsupported_grant_type", "grant type not supported")
        if client_id != self.client_id:
            return 400, shapes.oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(client_secret or "", self.client_secret):
            return 400, shapes.oauth_error("invalid_client", "invalid client credentials")
        if self.grant_refusal is not None:
            return 400, shapes.oauth_error("invalid_grant", self.grant_refusal)
        return 200, self._issue(now, instance_url, user_id)

    def _issue(self, now: float, instance_url: str, user_id: str) -> dict[str, Any]:
        token = f"{ORG_ID}!{secrets.token_urlsafe(48)}"
        with self.lock:
            self.issued[token] = now
        identity = f"{instance_url}/id/{ORG_ID}/{user_id}"
        issued_at = str(int(now * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": token,
            "signature": base64.b64encode(digest).decode(),
            "scope": self.scope,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except ValueError:
        return None
    return user, password
