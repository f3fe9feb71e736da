"""`FakeSlack`: start a fake workspace, seed it, script faults, and inspect what happened."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from bot.emulator.dispatch import CallRecord, Dispatcher
from bot.emulator.faults import Fault, FaultPlan
from bot.emulator.limits import RateLimiter
from bot.emulator.methods import HANDLERS
from bot.emulator.methods.connect import invite_json
from bot.emulator.server import EmulatorHTTPServer
from bot.emulator.state import Channel, User, Workspace


class FakeSlack:
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
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        bot_name: str = "careintro",
        rate_limits: bool = False,
        time_scale: float = 1.0,
    ) -> None:
        self.bot_token = bot_token
        self._ws = Workspace(
            team_id=team_id,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
        )
        self._faults = FaultPlan()
        self._dispatcher = Dispatcher(
            self._ws,
            tokens={bot_token: bot_user_id},
            limiter=RateLimiter(time_scale=time_scale),
            faults=self._faults,
            rate_limits=rate_limits,
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Serve on an OS-chosen port in a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already started")
        self._server = EmulatorHTTPServer(self._dispatcher)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung calls, stop serving and close the socket; safe to call twice."""
        self._dispatcher.closed.set()
        self._faults.release_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/api/`: the `base_url` for slack_sdk's WebClient."""
        if self._server is None:
            raise RuntimeError("call FakeSlack.start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

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
    ) -> str:
        """Add (or replace) a user; `name` defaults to the lower-cased id, email to
        `<name>@<workspace>.example` for humans of this workspace."""
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

    def accept_shared_invite(
        self, invite_id: str, user_id: str = "U_EXT1", team_id: str = "T_EXT"
    ) -> dict[str, Any]:
        """The external person accepts: they join the channel and the invite is done.

        Returns the payload of the `shared_channel_invite_accepted` event Slack would
        send (`channel`, `invite`, `accepting_user`, `teams_in_channel`, ...).
        """
        ws = self._ws
        with ws.lock:
            invite = next((i for i in ws.invites if i.invite_id == invite_id), None)
            if invite is None:
                raise KeyError(f"no shared invite {invite_id!r}")
            if invite.status != "pending":
                raise ValueError(f"invite {invite_id} is already {invite.status}")
            user = ws.users.get(user_id)
            if user is None:
                local = (invite.email or user_id).split("@")[0]
                user = ws.add_user(user_id, name=local, email=invite.email, team_id=team_id)
            ws.external_teams.setdefault(team_id, f"{team_id} Inc")
            invite.status, invite.accepted_by, invite.accepted_team = "accepted", user_id, team_id
            channel = ws.channels[invite.channel]
            channel.members.add(user_id)
            channel.is_ext_shared = True
            return {
                "type": "shared_channel_invite_accepted",
                "approval_required": False,
                "invite": invite_json(ws, invite),
                "channel": {
                    "id": channel.id,
                    "is_private": channel.is_private,
                    "is_im": False,
                    "name": channel.name,
                },
                "teams_in_channel": [
                    {"id": ws.team_id, "name": ws.team_name},
                    {"id": team_id, "name": ws.external_teams[team_id]},
                ],
                "accepting_user": {
                    "id": user_id,
                    "team_id": user.team_id,
                    "name": user.name,
                    "updated": int(time.time()),
                },
                "event_ts": ws.new_ts(),
            }

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

    # faults ---------------------------------------------------------------------------

    def _known(self, method: str) -> str:
        if method not in HANDLERS:
            raise ValueError(f"the emulator does not serve {method!r}")
        return method

    def fail_next(
        self, method: str, error: str | None = None, *, status: int = 200, count: int = 1
    ) -> None:
        """The next `count` calls answer `{"ok": false, "error": error}` with HTTP `status`
        and no effect. `error` defaults to `channel_not_found` (or `internal_error` for 5xx)."""
        error = error or ("internal_error" if status >= 500 else "channel_not_found")
        label = "fail_next" if status == 200 else f"http_{status}"
        fault = Fault("status", label, error=error, status=status, remaining=count)
        self._faults.add(self._known(method), fault)

    def rate_limit_next(self, method: str, retry_after: float = 1, *, count: int = 1) -> None:
        """The next `count` calls get HTTP 429; `retry_after` is in Slack seconds, so it is
        divided by `time_scale` like real limits are."""
        fault = Fault(
            "ratelimited",
            "rate_limit_next",
            error="ratelimited",
            status=429,
            retry_after=retry_after,
            remaining=count,
        )
        self._faults.add(self._known(method), fault)

    def drop_next(self, method: str, count: int = 1, *, after_effect: bool = False) -> None:
        """Close the connection without answering; with `after_effect` the call is carried
        out first ("Slack did it but we never heard back")."""
        label = "drop_after_effect" if after_effect else "drop"
        fault = Fault("drop", label, after_effect=after_effect, remaining=count)
        self._faults.add(self._known(method), fault)

    def hang(self, method: str, *, after_effect: bool = False) -> threading.Event:
        """Calls to `method` block (after their effect, if asked) until the returned event
        is set, `release_all()` is called or the server stops."""
        return self._faults.hang(self._known(method), after_effect=after_effect)

    def release_all(self) -> None:
        self._faults.release_all()

    def random_faults(
        self,
        rate: float = 0.2,
        seed: int = 1,
        kinds: Iterable[str] = ("429", "500", "drop"),
        methods: Iterable[str] | None = None,
    ) -> None:
        """Seeded random failures (429 with Retry-After of 1 Slack second, HTTP 500, or a
        drop before the effect) on `methods` (default: all), after scripted faults."""
        methods = [self._known(m) for m in methods] if methods is not None else None
        self._faults.set_random(rate=rate, seed=seed, kinds=kinds, methods=methods)

    def clear_faults(self) -> None:
        """Forget scripted, hanging and random faults (hung calls are released)."""
        self._faults.clear()
