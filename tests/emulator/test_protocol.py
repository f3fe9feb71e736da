"""The wire format: GET/form/JSON/multipart arguments, tokens, paths and bad bodies."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk import WebClient

from bot.emulator import FakeSlack
from bot.emulator.rules import SlackError, check_channel_name
from bot.emulator.server import parse_args


def raw_call(
    fake: FakeSlack,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    base = fake.url.removesuffix("/api/")
    request = urllib.request.Request(base + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_url_has_the_api_prefix(fake: FakeSlack) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/api/")


def test_get_with_token_in_the_query(fake: FakeSlack) -> None:
    status, body = raw_call(fake, f"/api/users.info?user=U_ENG&token={fake.bot_token}")
    assert status == 200
    assert body["user"]["id"] == "U_ENG"


def test_json_body_with_bearer_header(fake: FakeSlack) -> None:
    channel = fake.add_channel("care-json")
    payload = {"channel": channel, "blocks": [{"type": "divider"}], "text": "x"}
    status, body = raw_call(
        fake,
        "/api/chat.postMessage",
        body=json.dumps(payload).encode(),
        headers={
            "Authorization": f"Bearer {fake.bot_token}",
            "Content-Type": "application/json; charset=utf-8",
        },
    )
    assert (status, body["ok"]) == (200, True)
    assert fake.messages(channel)[0]["blocks"] == [{"type": "divider"}]


def test_bad_json_body_and_unknown_paths(fake: FakeSlack) -> None:
    headers = {"Authorization": f"Bearer {fake.bot_token}", "Content-Type": "application/json"}
    assert raw_call(fake, "/api/auth.test", body=b"{nope", headers=headers)[1]["error"] == (
        "invalid_json"
    )
    assert raw_call(fake, "/elsewhere")[0] == 404


def test_multipart_and_form_bodies_are_parsed() -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\nC1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    multipart = parse_args("limit=2", body, f"multipart/form-data; boundary={boundary}")
    form = parse_args("", b"channel=C1&text=a+b", "application/x-www-form-urlencoded")

    assert multipart == {"limit": "2", "channel": "C1", "text": "hi"}
    assert form == {"channel": "C1", "text": "a b"}


def test_group_dm_is_reused(client: WebClient) -> None:
    first = client.conversations_open(users="U_ENG,U_AE")["channel"]["id"]
    again = client.conversations_open(users=["U_AE", "U_ENG"])
    assert again["channel"]["id"] == first
    assert again["already_open"] is True


@given(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,79}", fullmatch=True))
def test_valid_channel_names_pass(name: str) -> None:
    check_channel_name(name)


@given(st.text(min_size=1, max_size=80).filter(lambda s: any(not c.isascii() for c in s)))
def test_names_with_other_characters_are_specials(name: str) -> None:
    with pytest.raises(SlackError, match=r"^invalid_name_specials$"):
        check_channel_name(name)
