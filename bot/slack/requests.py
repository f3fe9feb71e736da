"""Signed requests as Slack sends them: used by the sandbox, the tests and the benchmarks."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
        "Content-Type": content_type,
    }


def slash_command_body(
    text: str,
    *,
    user_id: str,
    team_id: str = "T_OURS",
    command: str = "/introduce-care",
    trigger_id: str | None = None,
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token-unused",
            "team_id": team_id,
            "team_domain": "ours",
            "channel_id": "C_GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A_CAREINTRO",
            "response_url": "https://hooks.slack.example/commands/T_OURS/1/abc",
            "trigger_id": trigger_id or f"{time.time_ns()}.{uuid.uuid4().hex[:12]}",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def post(url: str, body: str, headers: dict[str, str], *, timeout: float = 10) -> tuple[int, str]:
    """POST and return (status, body text), HTTP errors included."""
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
