"""Required arguments and rate-limit tier of each Slack method the emulator serves.

Generated once from Slack's method reference (`slack-methods.json`: each method's
`args.required` without `token`, and `rate_limits`), because the deployed app does not
ship that file. Regenerate rather than edit by hand.
"""

from __future__ import annotations

from typing import NamedTuple


class MethodRef(NamedTuple):
    """What the reference says about one method."""

    required: tuple[str, ...]
    tier: str  # "t1".."t4" are per-minute tiers; "t5" is Slack's "special" tier


METHODS: dict[str, MethodRef] = {
    "api.test": MethodRef(required=(), tier="t4"),
    # Not in slack-methods.json: its doc page (no arguments but the token; Tier 1).
    "apps.connections.open": MethodRef(required=(), tier="t1"),
    "auth.test": MethodRef(required=(), tier="t5"),
    "bots.info": MethodRef(required=(), tier="t3"),
    "chat.getPermalink": MethodRef(required=("channel", "message_ts"), tier="t5"),
    "chat.postEphemeral": MethodRef(required=("user", "channel"), tier="t4"),
    "chat.postMessage": MethodRef(required=("channel",), tier="t5"),
    "chat.scheduleMessage": MethodRef(required=("channel", "post_at"), tier="t3"),
    "chat.update": MethodRef(required=("ts", "channel"), tier="t3"),
    "conversations.archive": MethodRef(required=("channel",), tier="t2"),
    "conversations.create": MethodRef(required=("name",), tier="t2"),
    "conversations.history": MethodRef(required=("channel",), tier="t3"),
    "conversations.info": MethodRef(required=("channel",), tier="t3"),
    "conversations.invite": MethodRef(required=("channel", "users"), tier="t3"),
    "conversations.inviteShared": MethodRef(required=("channel",), tier="t2"),
    "conversations.join": MethodRef(required=("channel",), tier="t3"),
    "conversations.list": MethodRef(required=(), tier="t2"),
    "conversations.listConnectInvites": MethodRef(required=(), tier="t1"),
    "conversations.members": MethodRef(required=("channel",), tier="t4"),
    "conversations.open": MethodRef(required=(), tier="t3"),
    "conversations.rename": MethodRef(required=("channel", "name"), tier="t2"),
    "conversations.replies": MethodRef(required=("channel", "ts"), tier="t3"),
    "conversations.setPurpose": MethodRef(required=("channel", "purpose"), tier="t2"),
    "conversations.setTopic": MethodRef(required=("channel", "topic"), tier="t2"),
    # not in slack-methods.json: from slack_web_openapi_v2.json and Slack's method page
    "conversations.unarchive": MethodRef(required=("channel",), tier="t2"),
    "pins.add": MethodRef(required=("channel",), tier="t2"),
    "team.info": MethodRef(required=(), tier="t3"),
    "usergroups.users.list": MethodRef(required=("usergroup",), tier="t2"),
    "users.info": MethodRef(required=("user",), tier="t4"),
    "users.list": MethodRef(required=(), tier="t2"),
    "users.lookupByEmail": MethodRef(required=("email",), tier="t3"),
    "users.profile.get": MethodRef(required=(), tier="t4"),
    "views.open": MethodRef(required=("view",), tier="t4"),
    "views.publish": MethodRef(required=("user_id", "view"), tier="t4"),
    "views.push": MethodRef(required=("view",), tier="t4"),
    "views.update": MethodRef(required=("view",), tier="t4"),
}
