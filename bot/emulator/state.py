"""The fake workspace: users, conversations, messages, invites and views, behind one lock.

Method handlers mutate a `Workspace` while holding `Workspace.lock`; the `FakeSlack`
inspection properties read it under the same lock and hand out deep copies, so tests
never observe a half-applied call.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERMALINK_HOST = "https://fake.slack.example"
AVATAR_HOST = "https://avatars.fake.slack.example"


@dataclass
class User:
    """A workspace member (or an external Slack Connect user, when `team_id` differs)."""

    id: str
    team_id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    title: str = ""
    display_name: str = ""
    is_bot: bool = False
    deleted: bool = False
    bot_id: str | None = None
    enterprise_id: str = ""  # the Enterprise Grid org of the user's workspace, if any


@dataclass
class Channel:
    """A conversation: public/private channel, IM (`is_im`, `im_user`) or group DM (`is_mpim`).

    `messages` are dicts in posting order (oldest first), thread replies included.
    """

    id: str
    name: str
    is_private: bool
    creator: str
    created: int
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    pins: set[str] = field(default_factory=set)
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    is_archived: bool = False
    is_ext_shared: bool = False
    topic_meta: tuple[str, int] = ("", 0)
    purpose_meta: tuple[str, int] = ("", 0)


INVITE_VALID_SECONDS = 14 * 24 * 3600  # Slack: `date_invalid` is 14 days after creation


@dataclass
class SharedInvite:
    """A Slack Connect invitation sent with conversations.inviteShared."""

    invite_id: str
    channel: str
    email: str | None
    user_id: str | None
    # "pending", "awaiting_approval" (accepted, an admin must approve), "accepted" or
    # "declined"; a pending one lapses by itself 14 days after `date_created`
    status: str
    date_created: int
    external_limited: bool = True
    accepted_by: str | None = None
    accepted_team: str | None = None

    def lapsed(self, now: float) -> bool:
        return self.status == "pending" and now >= self.date_created + INVITE_VALID_SECONDS

    def holds_channel(self, now: float) -> bool:
        """Slack's one pending invitation per channel: unanswered and valid, or accepted
        and waiting for an admin."""
        return self.status == "awaiting_approval" or (
            self.status == "pending" and not self.lapsed(now)
        )


def tz_now(tz: str) -> datetime:
    """Local time in zone `tz`; unknown zones count as UTC rather than failing a call."""
    try:
        return datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now(UTC)


def slug(text: str) -> str:
    """`Ours Inc` -> `ours-inc`: used for the fake workspace domain and default emails."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "workspace"


class Workspace:
    """All state of one fake Slack workspace; every mutation happens under `lock`."""

    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        bot_user_id: str,
        bot_id: str,
        bot_name: str,
    ) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.team_name = team_name
        self.domain = slug(team_name)
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = "A_FAKEAPP"
        self.socket_link: Callable[[], str] | None = None  # mints a Socket Mode URL (FakeSlack)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.invites: list[SharedInvite] = []
        self.external_teams: dict[str, str] = {}
        self.enterprise_id = ""  # set when our workspace is part of an Enterprise Grid org
        self.enterprise_name = ""
        self.usergroups: dict[str, list[str]] = {}
        self.ephemeral: list[dict[str, Any]] = []
        self.scheduled: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.views_opened: list[dict[str, Any]] = []
        self.views_pushed: list[dict[str, Any]] = []
        self.views_published: dict[str, dict[str, Any]] = {}
        self.used_triggers: set[str] = set()
        self.slack_connect = True
        self.slack_connect_error = "not_paid"
        self.bots_may_unarchive = False  # conversations.unarchive refuses bot tokens
        self._counter = itertools.count(1)
        self._last_ts_us = 0
        self.clock_offset_us = 0  # FakeSlack.set_clock: Slack's time, not the machine's
        self.add_user(
            bot_user_id, name=bot_name, real_name=bot_name, email=None, is_bot=True, bot_id=bot_id
        )

    # ids and timestamps ---------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """Unique Slack-shaped ids (`C0000000A`): upper-case letters and digits only."""
        return f"{prefix}{next(self._counter):08X}"

    def new_ts(self) -> str:
        """Message timestamps: wall-clock based, strictly increasing, `1700000000.000100`."""
        now_us = time.time_ns() // 1000 + self.clock_offset_us
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    # users ---------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "America/Los_Angeles",
        title: str = "",
        display_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> User:
        name = name or user_id.lower()
        user = User(
            id=user_id,
            team_id=team_id or self.team_id,
            name=name,
            real_name=real_name if real_name is not None else name.replace(".", " ").title(),
            email=email,
            tz=tz,
            title=title,
            display_name=display_name if display_name is not None else name,
            is_bot=is_bot,
            deleted=deleted,
            bot_id=bot_id,
            enterprise_id=enterprise_id if enterprise_id is not None else self._org_of(team_id),
        )
        self.users[user_id] = user
        return user

    def _org_of(self, team_id: str | None) -> str:
        """Our own people share our Grid org; an outside team's org is the caller's to say."""
        return self.enterprise_id if team_id in (None, self.team_id) else ""

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        for user in self.users.values():
            if user.email and user.email.lower() == wanted:
                return user
        return None

    # conversations -------------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        *,
        creator: str,
        is_private: bool = False,
        members: list[str] | set[str] | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.new_id("C"),
            name=name,
            is_private=is_private,
            creator=creator,
            created=int(time.time()),
            members=set(members) if members is not None else {creator},
        )
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str) -> Channel | None:
        for channel in self.channels.values():
            if not channel.is_im and not channel.is_mpim and channel.name == name:
                return channel
        return None

    def visible(self, channel_id: str) -> Channel | None:
        """A conversation the bot can see: private ones and DMs only when it is a member."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return None
        if (channel.is_private or channel.is_im or channel.is_mpim) and (
            self.bot_user_id not in channel.members
        ):
            return None
        return channel

    def im_with(self, user_id: str, *, create: bool) -> Channel | None:
        """The bot's IM with `user_id`, opened on demand like conversations.open does."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        if not create:
            return None
        channel = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_private=True,
            creator=self.bot_user_id,
            created=int(time.time()),
            members={self.bot_user_id, user_id},
            is_im=True,
            im_user=user_id,
        )
        self.channels[channel.id] = channel
        return channel

    # messages ------------------------------------------------------------------------

    def find_message(self, channel: Channel, ts: str) -> dict[str, Any] | None:
        for message in channel.messages:
            if message["ts"] == ts:
                return message
        return None
