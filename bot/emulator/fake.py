"""`FakeSlack`: start a fake workspace, seed it, script faults, and inspect what happened."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from bot.emulator.connect_scripting import ConnectScripting
from bot.emulator.dispatch import CallRecord, Dispatcher
from bot.emulator.faults import FaultPlan
from bot.emulator.limits import RateLimiter
from bot.emulator.methods import HANDLERS
from bot.emulator.people_do import PeopleDo
from bot.emulator.scripting import FaultScripting
from bot.emulator.server import EmulatorHTTPServer
from bot.emulator.serving import ServedFake
from bot.emulator.socket_mode import SocketModeServer
from bot.emulator.socket_scripting import SocketScripting
from bot.emulator.state import Channel, User, Workspace


class FakeSlack(ConnectScripting, FaultScripting, PeopleDo, SocketScripting, ServedFake):
    """A Slack Web API stand-in on 127.0.0.1 for `WebClient(base_url=fake.url)`.

    Inspection properties return deep copies taken under the workspace lock, so they
    are safe to read while the app is calling the server from other threads.
    """

    def __init__(
        self,
        *,
        team_id: str = "T_OURS",
        team_name: str = "Ours Inc",
        bot_token: str = "xoxb-test",  # noqa: S107 - the fake's own token, valid nowhere else
        app_token: str = "xapp-1-A_FAKEAPP-1-test",  # noqa: S107 - Socket Mode's, likewise
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        bot_name: str = "careintro",
        rate_limits: bool = False,
        time_scale: float = 1.0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self._ws = Workspace(
            team_id=team_id,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
        )
        self._port = 0  # the OS chooses at the first start
        self._faults = FaultPlan()
        self._dispatcher = Dispatcher(
            self._ws,
            tokens={bot_token: bot_user_id},
            app_tokens=frozenset({app_token}),
            limiter=RateLimiter(time_scale=time_scale),
            faults=self._faults,
            rate_limits=rate_limits,
        )
        self._socket = SocketModeServer(app_id=self._ws.app_id, time_scale=time_scale)
        self._ws.socket_link = self._socket.link

    # lifecycle ------------------------------------------------------------------------

    def _make_server(self) -> EmulatorHTTPServer:
        """On the port of the first start when started again: `stop()` then `start()` is
        Slack going away and coming back, at the address the app was given."""
        self._dispatcher.closed.clear()
        server = EmulatorHTTPServer(self._dispatcher, port=self._port)
        self._port = server.server_address[1]
        return server

    def _before_stop(self) -> None:
        self._dispatcher.closed.set()
        self._faults.release_all()
        self._socket.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/api/`: the `base_url` for slack_sdk's WebClient."""
        return self._origin() + "/api/"

    # settings -------------------------------------------------------------------------

    @property
    def team_id(self) -> str:
        return self._ws.team_id

    @property
    def bot_user_id(self) -> str:
        return self._ws.bot_user_id

    @property
    def bot_id(self) -> str:
        return self._ws.bot_id

    @property
    def slack_connect(self) -> bool:
        return self._ws.slack_connect

    @slack_connect.setter
    def slack_connect(self, enabled: bool) -> None:
        with self._ws.lock:
            self._ws.slack_connect = enabled

    @property
    def slack_connect_error(self) -> str:
        return self._ws.slack_connect_error

    @slack_connect_error.setter
    def slack_connect_error(self, error: str) -> None:
        with self._ws.lock:
            self._ws.slack_connect_error = error

    @property
    def bots_may_unarchive(self) -> bool:
        """False, as in Slack: conversations.unarchive answers a bot `not_in_channel`."""
        return self._ws.bots_may_unarchive

    @bots_may_unarchive.setter
    def bots_may_unarchive(self, allowed: bool) -> None:
        with self._ws.lock:
            self._ws.bots_may_unarchive = allowed

    def unarchive_as_person(self, channel_id: str, user_id: str) -> None:
        """A person unarchives the channel in Slack's client (what a bot cannot do). As
        Slack's help says, a private channel keeps its members, a public one does not."""
        with self._ws.lock:
            channel = self._ws.channels[channel_id]
            channel.is_archived = False
            if not channel.is_private:
                channel.members = {user_id}

    @property
    def rate_limits(self) -> bool:
        return self._dispatcher.rate_limits

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self._dispatcher.rate_limits = enabled

    # seeding --------------------------------------------------------------------------

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
        enterprise_id: str | None = None,
    ) -> str:
        """Add (or replace) a user; `name` defaults to the lower-cased id, email to
        `<name>@<workspace>.example` for our humans (another team's: none unless given, as
        Slack hides it); `enterprise_id`: their Grid org (ours, for our own people)."""
        with self._ws.lock:
            if email is None and not is_bot and team_id in (None, self._ws.team_id):
                email = f"{name or user_id.lower()}@{self._ws.domain}.example"
            self._ws.add_user(
                user_id,
                name=name,
                real_name=real_name,
                email=email,
                tz=tz,
                title=title,
                display_name=display_name,
                is_bot=is_bot,
                deleted=deleted,
                team_id=team_id,
                enterprise_id=enterprise_id,
            )
        return user_id

    def add_channel(
        self,
        name: str,
        *,
        creator: str | None = None,
        is_private: bool = False,
        members: Iterable[str] | None = None,
        topic: str = "",
        purpose: str = "",
        is_archived: bool = False,
    ) -> str:
        """Seed an existing channel and return its id. `creator` defaults to the bot;
        `members` defaults to just the creator (pass a list without the bot to test
        `not_in_channel`). Channel-name rules are not enforced here, uniqueness is."""
        with self._ws.lock:
            if self._ws.channel_by_name(name) is not None:
                raise ValueError(f"a channel named {name!r} already exists")
            channel = self._ws.add_channel(
                name,
                creator=creator or self._ws.bot_user_id,
                is_private=is_private,
                members=list(members) if members is not None else None,
            )
            channel.topic, channel.purpose, channel.is_archived = topic, purpose, is_archived
            return channel.id

    def add_usergroup(self, usergroup_id: str, users: Iterable[str]) -> str:
        with self._ws.lock:
            self._ws.usergroups[usergroup_id] = list(users)
        return usergroup_id

    # inspection -----------------------------------------------------------------------

    def _copy(self, value: Any) -> Any:
        with self._ws.lock:
            return copy.deepcopy(value)

    @property
    def users(self) -> dict[str, User]:
        return self._copy(self._ws.users)

    @property
    def channels(self) -> dict[str, Channel]:
        """Every conversation by id, IMs (`is_im`) and group DMs included."""
        return self._copy(self._ws.channels)

    def channel_by_name(self, name: str) -> Channel | None:
        with self._ws.lock:
            return copy.deepcopy(self._ws.channel_by_name(name))

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages in posting order (oldest first), thread replies included."""
        with self._ws.lock:
            if channel_id not in self._ws.channels:
                raise KeyError(f"no conversation {channel_id!r}")
            return copy.deepcopy(self._ws.channels[channel_id].messages)

    def dm_messages(self, user_id: str) -> list[dict[str, Any]]:
        """What the bot sent in its IM with `user_id` (empty when it never wrote)."""
        with self._ws.lock:
            im = self._ws.im_with(user_id, create=False)
            if im is None:
                return []
            return copy.deepcopy([m for m in im.messages if m.get("user") == self._ws.bot_user_id])

    @property
    def shared_invites(self) -> list[dict[str, Any]]:
        with self._ws.lock:
            return [dataclasses.asdict(i) for i in self._ws.invites]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Latest version of every view by view id (after views.update)."""
        return self._copy(self._ws.views)

    @property
    def views_opened(self) -> list[dict[str, Any]]:
        """Modals as views.open returned them, in order."""
        return self._copy(self._ws.views_opened)

    @property
    def views_pushed(self) -> list[dict[str, Any]]:
        return self._copy(self._ws.views_pushed)

    @property
    def views_published(self) -> dict[str, dict[str, Any]]:
        """Latest App Home view per user id."""
        return self._copy(self._ws.views_published)

    @property
    def ephemeral(self) -> list[dict[str, Any]]:
        return self._copy(self._ws.ephemeral)

    @property
    def scheduled(self) -> list[dict[str, Any]]:
        """Messages waiting in chat.scheduleMessage (see `deliver_scheduled`)."""
        return self._copy(self._ws.scheduled)

    @property
    def calls(self) -> list[CallRecord]:
        return self._dispatcher.calls()

    def calls_to(self, method: str) -> list[CallRecord]:
        return self._dispatcher.calls(method)

    def reset_calls(self) -> None:
        self._dispatcher.reset_calls()

    # what Slack or other people do ----------------------------------------------------

    def deliver_scheduled(self, now: float | None = None) -> int:
        """Post every scheduled message whose `post_at` has come; returns how many."""
        now = time.time() if now is None else now
        ws = self._ws
        with ws.lock:
            due = [s for s in ws.scheduled if s["post_at"] <= now]
            for item in due:
                ws.scheduled.remove(item)
                message = dict(item["message"], ts=ws.new_ts())
                ws.channels[item["channel"]].messages.append(message)
        return len(due)

    def _known(self, method: str) -> str:
        if method not in HANDLERS:
            raise ValueError(f"the emulator does not serve {method!r}")
        return method
