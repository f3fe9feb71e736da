"""Who takes part: Slack's record of each person, the checks that a person is usable,
picking the engineer from the roster, and the `prepare` step that settles all three."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.exceptions import UserError
from bot.models import CareMember, Deal, Introduction
from bot.slack.client import call, try_call
from bot.store.introductions import open_introduction_counts
from bot.store.roster import active_member, active_members
from bot.store.rows import update_row
from bot.templating import PublicProfile, phrase

if TYPE_CHECKING:
    from bot.flows.introduction.context import StepContext

PROFILE_TTL_SECONDS = 3600  # a new title or photo shows within the hour


def public_profile(user_id: str, user: dict[str, Any]) -> PublicProfile:
    """The fields of a Slack user that a prospect may see."""
    profile = user.get("profile") or {}
    name = profile.get("real_name") or profile.get("display_name") or user.get("name")
    return PublicProfile(
        user_id=user_id,
        name=name or phrase("introduction.unnamed_engineer"),
        title=profile.get("title") or "",
        image_url=profile.get("image_192") or profile.get("image_72") or "",
    )


@dataclass
class People:
    """Slack's users as one runner has seen them: each check fetches a fresh record, and
    the public profile it carries is kept an hour for the prospect-facing messages."""

    client: WebClient
    _profiles: dict[str, tuple[float, PublicProfile]] = field(default_factory=dict)
    _bot_user_id: str | None = None

    def user(self, user_id: str) -> dict[str, Any] | None:
        """Slack's record of a person, always fresh (a check must see a deactivation)."""
        result = try_call(
            "prepare", self.client.users_info, ok_errors=frozenset({"user_not_found"}), user=user_id
        )
        user = None if isinstance(result, str) else result["user"]
        self._profiles[user_id] = (time.monotonic(), public_profile(user_id, user or {}))
        return user

    def usable(self, user_id: str) -> bool:
        """A person (not a bot) whose account is active."""
        user = self.user(user_id)
        return bool(user and not user.get("is_bot") and not user.get("deleted"))

    def check_engineer(self, user_id: str) -> None:
        """The engineer the AE named can take the deal, or the AE is told why not."""
        user = self.user(user_id)
        if user is None:
            raise UserError(phrase("introduction.engineer_not_a_member", user_id=user_id))
        if user.get("is_bot") or user_id == "USLACKBOT":
            raise UserError(phrase("introduction.engineer_is_a_bot", user_id=user_id))
        if user.get("deleted"):
            raise UserError(phrase("introduction.engineer_deactivated", user_id=user_id))

    def lookup(self, email: str) -> str | None:
        """The user id of a workspace member by email, if there is one."""
        result = try_call(
            "prepare",
            self.client.users_lookupByEmail,
            ok_errors=frozenset({"users_not_found"}),
            email=email,
        )
        return None if isinstance(result, str) else result["user"]["id"]

    def profile(self, user_id: str) -> PublicProfile:
        """Name, title and photo, as fetched in the last hour (by a check or for a message)."""
        cached = self._profiles.get(user_id)
        if cached is None or time.monotonic() - cached[0] > PROFILE_TTL_SECONDS:
            self.user(user_id)
        return self._profiles[user_id][1]

    @property
    def bot_user_id(self) -> str:
        """The bot's own user id (asked once): it creates channels and is in them."""
        if self._bot_user_id is None:
            self._bot_user_id = call("channel", self.client.auth_test)["user_id"]
        return self._bot_user_id


def pick_from_roster(run: StepContext) -> str:
    """The active roster member with the fewest open introductions."""
    with run.session() as session:
        members: list[CareMember] = list(active_members(session))
        load = open_introduction_counts(session)
    if not members:
        raise UserError(phrase("introduction.roster_empty"))
    for candidate in sorted(members, key=lambda m: (load.get(m.user_id, 0), m.id)):
        if run.people.usable(candidate.user_id):
            return candidate.user_id
    raise UserError(phrase("introduction.roster_unusable"))


def prepare_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Settle the engineer (named, found by email, or picked), their backup and the AE."""
    people = run.people
    engineer = deal.engineer_user_id
    if engineer:
        people.check_engineer(engineer)
    elif deal.engineer_email:
        engineer = people.lookup(deal.engineer_email)
        if engineer and not people.usable(engineer):
            engineer = None
    if not engineer:
        engineer = pick_from_roster(run)
    with run.session() as session:
        entry = active_member(session, user_id=engineer)
        backup = entry.backup_user_id if entry else None
    if backup == engineer or (backup and not people.usable(backup)):
        backup = None
    # The AE as resolved when the deal was recorded (CRM owner, else registrant); looked up
    # here only for a deal recorded before that rule, or whose owner was not in Slack then.
    ae = deal.ae_user_id if deal.ae_user_id != deal.registered_by else None
    ae = ae or (people.lookup(deal.owner_email) if deal.owner_email else None)
    ae = ae or deal.ae_user_id or deal.registered_by or intro.requested_by
    with run.session() as session:
        update_row(
            session, Introduction, intro.id,
            engineer_user_id=engineer, backup_user_id=backup, ae_user_id=ae,
        )  # fmt: skip
    return f"engineer={engineer} backup={backup} ae={ae}"
