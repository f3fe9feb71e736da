"""manifest.json asks for exactly the bot scopes the code needs, no more and no fewer.

Found statically: every Slack Web API method `bot/` calls (`client.users_info(…)`, a
method passed to `call`/`try_call`/`pages`, or `api_call("users.info")`), the scopes
each accepts per Slack's method reference (tests/slack_method_scopes.json, a copy of
/work/shared/reference/slack-methods.json's bot scopes; any one of them will do), the
conversation kinds the bot uses it on (care channels are private by default, public
with CARE_CHANNEL_PRIVATE=false), the scopes of the subscribed events, and `commands` for
the slash command. A method or event added anywhere in `bot/` is checked here by itself;
one this file has never heard of fails with what to add.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from functools import cache
from pathlib import Path

import pytest
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parent.parent
SCOPES = ROOT / "tests" / "slack_method_scopes.json"
FULL_REFERENCE = Path("/work/shared/reference/slack-methods.json")

# Scope prefixes per conversation kind, as Slack names them.
KIND_PREFIX = {"public": "channels:", "private": "groups:", "im": "im:", "mpim": "mpim:"}
CARE_CHANNELS = frozenset({"public", "private"})  # CARE_CHANNEL_PRIVATE chooses
# Methods used on other kinds than the care channel: DMs are opened, and their history is
# read to find a message already sent (bot.slack.client.find_posted).
# Only a public channel can be joined (a private one answers
# method_not_supported_for_channel_type): the bot rejoins an unarchived public channel.
KINDS = {
    "conversations.open": frozenset({"im"}),
    "conversations.history": CARE_CHANNELS | {"im"},
    "conversations.join": frozenset({"public"}),
}
# Methods absent from the reference file: their bot scopes from Slack's method pages.
# None means no bot-token scope: api.test needs no token; apps.connections.open takes the
# app-level token (connections:write), which is not a bot scope.
EXTRA_METHODS: dict[str, list[str] | None] = {
    "api.test": None,
    "apps.connections.open": None,
    "conversations.unarchive": ["channels:manage", "groups:write", "im:write", "mpim:write"],
}
# Events API: each event's required scopes (Slack's event reference pages), any one of them.
EVENT_SCOPES: dict[str, list[str]] = {
    "app_home_opened": [],
    "app_mention": ["app_mentions:read"],
    "message.channels": ["channels:history"],
    "message.groups": ["groups:history"],
    "message.im": ["im:history"],
    "message.mpim": ["mpim:history"],
    "member_joined_channel": ["channels:read", "groups:read"],
    "member_left_channel": ["channels:read", "groups:read"],
    "channel_archive": ["channels:read"],
    "group_archive": ["groups:read"],
    # "No scopes required!" on each of their pages
    "shared_channel_invite_accepted": [],
    "shared_channel_invite_approved": [],
    "shared_channel_invite_declined": [],
    "shared_channel_invite_received": [],
}
NOT_METHODS = frozenset({"api_call", "token", "base_url", "headers", "timeout", "team_id"})


@cache
def web_methods() -> dict[str, str]:
    """slack_sdk's WebClient method name -> the Web API method it calls."""
    found = {}
    for name, fn in inspect.getmembers(WebClient, inspect.isfunction):
        if name.startswith("_") or name in NOT_METHODS:
            continue
        api = re.findall(r'api_call\(\s*"([^"]+)"', inspect.getsource(fn))
        if len(api) == 1:
            found[name] = api[0]
    return found


@cache
def methods_called() -> dict[str, set[str]]:
    """Every Web API method the bot's code names, with the files naming it."""
    methods: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if "emulator" in path.parts:  # the fake Slack serves methods, it does not call them
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Attribute) and node.attr in web_methods():
                name = web_methods()[node.attr]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "api_call"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                name = str(node.args[0].value)
            if name:
                methods.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return methods


def method_scopes(method: str) -> list[str] | None:
    reference = json.loads(SCOPES.read_text())["methods"]
    if method in reference:
        return list(reference[method])
    assert method in EXTRA_METHODS, (
        f"{method} is not in {SCOPES.name}: add its bot scopes to EXTRA_METHODS"
    )
    return EXTRA_METHODS[method]


def needs(method: str, scopes: list[str]) -> list[tuple[str, frozenset[str]]]:
    """What one method needs: per conversation kind it is used on, any one of the scopes
    of that kind; a method whose scopes are not per kind needs any one of them."""
    if not scopes:
        return []
    if not any(s.startswith(tuple(KIND_PREFIX.values())) for s in scopes):
        return [(method, frozenset(scopes))]
    kinds = KINDS.get(method, CARE_CHANNELS)
    return [
        (f"{method} ({kind})", frozenset(s for s in scopes if s.startswith(KIND_PREFIX[kind])))
        for kind in sorted(kinds)
    ]


def manifest() -> dict:
    return json.loads((ROOT / "manifest.json").read_text())


@cache
def requirements() -> tuple[tuple[str, frozenset[str]], ...]:
    """Each use with the scopes that would each satisfy it."""
    found: list[tuple[str, frozenset[str]]] = []
    for method in sorted(methods_called()):
        found += needs(method, method_scopes(method) or [])
    for event in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"event {event}: add its scopes to EVENT_SCOPES"
        if EVENT_SCOPES[event]:
            found.append((f"event {event}", frozenset(EVENT_SCOPES[event])))
    if manifest()["features"].get("slash_commands"):
        found.append(("slash commands", frozenset({"commands"})))
    return tuple(found)


def unmet(scopes: set[str]) -> list[str]:
    return [use for use, options in requirements() if not options & scopes]


def test_the_scan_sees_how_the_bot_calls_slack() -> None:
    called = methods_called()
    assert "bot/flows/response_watch.py" in called["users.info"]  # passed to try_call
    assert "bot/slack/client.py" in called["conversations.history"]  # find_posted
    assert "bot/flows/home.py" in called["views.publish"]
    assert "conversations.inviteShared" in called


def test_every_use_has_a_scope_in_the_manifest() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert unmet(scopes) == []


def test_no_scope_in_the_manifest_is_unused() -> None:
    scopes = manifest()["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    unused = [s for s in scopes if not unmet(set(scopes) - {s})]
    assert unused == [], f"nothing needs {unused}: remove them from manifest.json"


def test_a_missing_scope_would_be_named() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert "conversations.history (im)" in unmet(scopes - {"im:history"})
    assert "event message.groups" in unmet(scopes - {"groups:history"})
    assert "conversations.create (private)" in unmet(scopes - {"groups:write"})


@pytest.mark.skipif(not FULL_REFERENCE.exists(), reason="the full reference is not at hand")
def test_the_scope_copy_matches_the_reference() -> None:
    full = json.loads(FULL_REFERENCE.read_text())["methods"]
    copy = json.loads(SCOPES.read_text())["methods"]
    assert copy == {m: (v.get("scope") or {}).get("bot") or [] for m, v in full.items()}
