"""The introduction: SPEC steps 1–7, each recorded once done, resumable by any process.

A step is recorded as *started* before its Slack calls and *done* after them. A step
found started but not done (a crash, a timeout, a dropped connection) runs again in
"resumed" mode: before acting it looks at what Slack already has (a channel of its
name created by the bot, a message carrying its metadata), so nothing happens twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from slack_sdk import WebClient
from sqlalchemy import Connection, Engine, bindparam, insert, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError, UserError
from bot.flows.home import HomeRefresh
from bot.models import (
    STEPS,
    CareMember,
    Contact,
    Deal,
    Introduction,
    IntroductionStep,
    IntroStatus,
    InviteState,
    Step,
    utcnow,
)
from bot.slack.client import call, find_posted, open_dm, send_dm, try_call
from bot.store.contacts import contacts_of
from bot.store.introductions import (
    channel_owned,
    claim_channel_name,
    open_introduction_counts,
    steps_of,
)
from bot.store.roster import active_member, active_members
from bot.store.rows import update_row
from bot.templating import (
    ExternalContext,
    Message,
    PublicProfile,
    render_external,
    render_external_text,
    render_internal,
)
from bot.text import mask_email, slack_channel_name

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
QUICK_RETRY_DELAYS = (0.2, 1.0, 3.0)
MAX_NAME_SUFFIX = 50
TOPIC_LIMIT = 250
HISTORY_SCAN = 200
PROFILE_TTL_SECONDS = 3600  # a new title or photo shows within the hour

# Slack Connect refused for the whole workspace: what the AE can do about it.
CONNECT_UNAVAILABLE = {
    "not_paid": "Slack Connect needs a paid Slack plan. Upgrade, or invite the contacts as guests.",
    "restricted_action": "An admin has restricted Slack Connect invitations. Ask them to allow "
    "them for this app, or send the invitation yourself from the channel.",
    "not_allowed_for_grid_workspace": "On Enterprise Grid, Slack Connect invitations must come "
    "from the org. Ask an org admin, or send the invitation yourself from the channel.",
    "not_supported": "This workspace can't use Slack Connect. Invite the contacts as guests.",
    "no_external_invite_permission": "The bot may not send external invitations. Send the "
    "invitation yourself from the channel, or ask an admin to allow it.",
    "team_not_paid": "Slack Connect needs a paid Slack plan. Upgrade, or invite the contacts "
    "as guests.",
    "missing_scope": "The app lacks the `conversations.connect:write` scope: reinstall it from "
    "the manifest.",
}

# What a person should know about errors that stop an introduction.
REASONS = {
    "channel_not_found": "the care channel was deleted, or the bot can no longer see it",
    "not_in_channel": "the bot was removed from the care channel",
    "is_archived": "the care channel is archived",
    "invalid_auth": "CareIntro's Slack token is not valid: an admin must reinstall the app",
    "not_authed": "CareIntro has no Slack token: an admin must set SLACK_BOT_TOKEN",
    "token_revoked": "CareIntro's Slack token was revoked: an admin must reinstall the app",
    "account_inactive": "CareIntro's Slack token was revoked: an admin must reinstall the app",
    "missing_scope": "the app lacks a permission: reinstall it from the manifest",
    "restricted_action": "a workspace admin setting forbids this",
    "cannot_create_channel": "Slack would not let the bot create channels",
}


# The bookkeeping every step does, built once and run as Core statements on the session's
# connection: the ORM's per-statement work (building, cache keys, bulk-update evaluation,
# unit of work) was most of a worker's CPU in the bulk benchmark (bench/README.md).
_INTRO_AND_DEAL = (
    select(Introduction, Deal)
    .join(Deal, col(Deal.id) == col(Introduction.deal_id))
    .where(col(Introduction.id) == bindparam("b_id"))
)
_START_STEP = insert(IntroductionStep).values(
    introduction_id=bindparam("b_id"), step=bindparam("b_step"), started_at=bindparam("b_at")
)
_RECORD_DONE = (
    update(IntroductionStep)
    .where(col(IntroductionStep.introduction_id) == bindparam("b_id"))
    .where(col(IntroductionStep.step) == bindparam("b_step"))
    .where(col(IntroductionStep.done_at).is_(None))
    .values(done_at=bindparam("b_at"), detail=bindparam("b_detail"))
)


def public_profile(user_id: str, user: dict[str, Any]) -> PublicProfile:
    profile = user.get("profile") or {}
    name = profile.get("real_name") or profile.get("display_name") or user.get("name")
    return PublicProfile(
        user_id=user_id,
        name=name or "your engineer",
        title=profile.get("title") or "",
        image_url=profile.get("image_192") or profile.get("image_72") or "",
    )


class Done(NamedTuple):
    """A step that has acted, waiting to be recorded with the next transaction."""

    step: Step
    detail: str


PENDING = "an invitation is pending; the others wait"


class LeaseLost(Exception):
    """Another worker took this introduction over (ours expired); stop touching it."""


@dataclass
class IntroductionRunner:
    """Runs introductions for one worker identity (`owner`)."""

    engine: Engine
    client: WebClient
    settings: Settings
    owner: str
    lease_seconds: int = 300
    homes: HomeRefresh | None = None  # told whose Home an introduction changed
    stopping: threading.Event | None = None  # set: hand introductions back between steps
    _bot_user_id: str | None = None
    _profiles: dict[str, tuple[float, PublicProfile]] = field(default_factory=dict)
    _held: threading.local = field(default_factory=threading.local)

    @property
    def db(self) -> Engine | Connection:
        """The connection this thread's run holds, else the engine."""
        return getattr(self._held, "connection", None) or self.engine

    # --- driving the steps -----------------------------------------------------------

    def run(self, intro_id: int) -> None:
        """Run every step not yet done, in order; failures are recorded, never raised.

        The run holds one connection: its ~20 short transactions would otherwise each
        check one out of the pool (and, on PostgreSQL, ping it first). If the database
        drops it meanwhile (a restart, a failover), the run goes on once with a new one,
        in resumed mode, instead of stalling until its lease runs out.
        """
        for attempt in (1, 2):
            try:
                with self.engine.connect() as connection:
                    self._held.connection, self._held.renewed = connection, None
                    self._run(intro_id)
                return
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == 2:
                    raise
                log.warning("intro_id=%s database connection lost; going on", intro_id)
            finally:
                self._held.connection = None

    def _run(self, intro_id: int) -> None:
        try:
            with session_scope(self.db) as session:  # ours while we hold the lease
                steps = {s: row.done_at is not None for s, row in steps_of(
                    session, intro_id=intro_id).items()}  # fmt: skip
            done: Done | None = None
            for step in STEPS:
                if self.stopping is not None and self.stopping.is_set():
                    self._hand_back(intro_id, done)
                    return
                done = self._run_step(intro_id, step, done, steps)
            self._finish(intro_id, done)
        except LeaseLost:
            log.warning("intro_id=%s lease lost; another worker goes on with it", intro_id)
        except UserError as exc:
            self._fail(intro_id, exc.message)
        except SlackStepError as exc:
            self._on_slack_error(intro_id, exc)

    def _run_step(
        self, intro_id: int, step: Step, done: Done | None, steps: dict[Step, bool]
    ) -> Done | None:
        """Run a step; a passing fault (5xx, dropped connection) is retried at once, a few
        times, in resumed mode, before the whole introduction is rescheduled.

        `done` is the previous step's result, recorded in this step's first transaction
        (one commit per step instead of two); the result of this one is returned for the
        next. A crash in between leaves the step started, not done, so it is run again in
        resumed mode, which looks at Slack before acting: nothing is repeated. `steps`
        (started steps: done or not) is read once per run; while the lease is ours, no
        one else writes them.
        """
        for delay in QUICK_RETRY_DELAYS:
            try:
                return self._run_step_once(intro_id, step, done, steps)
            except SlackStepError as exc:
                done = None  # the attempt's first transaction recorded it
                if exc.permanent:
                    raise
                log.info("intro_id=%s step=%s retrying after %s", intro_id, step, exc.error)
                time.sleep(delay)
        return self._run_step_once(intro_id, step, done, steps)  # the last try: errors stand

    def _run_step_once(
        self, intro_id: int, step: Step, done: Done | None, steps: dict[Step, bool]
    ) -> Done | None:
        if steps.get(step):  # done in an earlier run
            if done is not None:
                with session_scope(self.db) as session:
                    self._record_done(session, intro_id, done)
            return None
        resumed = step in steps
        with session_scope(self.db) as session:
            if done is not None:
                self._record_done(session, intro_id, done)
            self._hold_lease(session, intro_id)
            if not resumed:
                session.connection().execute(
                    _START_STEP, {"b_id": intro_id, "b_step": step, "b_at": utcnow()}
                )
            intro, deal = self._read(session, intro_id)  # as the previous step left them
        steps[step] = False
        detail = getattr(self, f"_step_{step.value}")(intro, deal, resumed=resumed)
        log.info("intro_id=%s step=%s done resumed=%s", intro_id, step, resumed)
        return Done(step, detail or "")

    @staticmethod
    def _record_done(session: Session, intro_id: int, done: Done) -> None:
        session.connection().execute(
            _RECORD_DONE,
            {
                "b_id": intro_id,
                "b_step": done.step,
                "b_at": utcnow(),
                "b_detail": done.detail[:500],
            },
        )

    def _hold_lease(self, session: Session, intro_id: int) -> None:
        """Renew our lease once half of it has gone by, or stop if it is no longer ours.

        While more than half is left nobody can take it (a claim needs it expired, and
        only its owner touches a running introduction), so a renewal before every step
        was a write per step for nothing; the first step of a run always renews.
        """
        now = time.monotonic()
        renewed = getattr(self._held, "renewed", None)
        if renewed is not None and now - renewed < self.lease_seconds / 2:
            return
        held = update_row(
            session, Introduction, intro_id,
            where={"lease_owner": self.owner, "status": IntroStatus.RUNNING},
            lease_until=utcnow() + timedelta(seconds=self.lease_seconds),
        )  # fmt: skip
        if held != 1:
            raise LeaseLost
        self._held.renewed = now

    def _load(self, intro_id: int) -> tuple[Introduction, Deal]:
        with session_scope(self.db) as session:
            return self._read(session, intro_id)

    @staticmethod
    def _read(session: Session, intro_id: int) -> tuple[Introduction, Deal]:
        intro, deal = session.exec(_INTRO_AND_DEAL, params={"b_id": intro_id}).one()
        return intro, deal

    # --- step: who takes part -------------------------------------------------------

    def _step_prepare(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        engineer = deal.engineer_user_id
        if engineer:
            self._check_person(engineer, role="engineer")
        elif deal.engineer_email:
            engineer = self._lookup(deal.engineer_email)
            if engineer and not self._usable(engineer):
                engineer = None
        if not engineer:
            engineer = self._pick_from_roster()
        with session_scope(self.db) as session:
            entry = active_member(session, user_id=engineer)
            backup = entry.backup_user_id if entry else None
        if backup == engineer or (backup and not self._usable(backup)):
            backup = None
        ae = (self._lookup(deal.owner_email) if deal.owner_email else None) or deal.registered_by
        ae = ae or intro.requested_by
        with session_scope(self.db) as session:
            update_row(
                session, Introduction, intro.id,
                engineer_user_id=engineer, backup_user_id=backup, ae_user_id=ae,
            )  # fmt: skip
        return f"engineer={engineer} backup={backup} ae={ae}"

    def _check_person(self, user_id: str, *, role: str) -> None:
        user = self._user(user_id)
        who = f"<@{user_id}>"
        if user is None:
            raise UserError(f"{who} is not a member of this workspace; name another {role}.")
        if user.get("is_bot") or user_id == "USLACKBOT":
            raise UserError(f"{who} is a bot; name a person as the {role}.")
        if user.get("deleted"):
            raise UserError(f"{who} is deactivated; name another {role}.")

    def _usable(self, user_id: str) -> bool:
        user = self._user(user_id)
        return bool(user and not user.get("is_bot") and not user.get("deleted"))

    def _user(self, user_id: str) -> dict[str, Any] | None:
        """Slack's record of a person, always fresh (a check must see a deactivation); the
        public profile it carries is kept for the prospect-facing templates."""
        result = try_call(
            "prepare", self.client.users_info, ok_errors=frozenset({"user_not_found"}), user=user_id
        )
        user = None if isinstance(result, str) else result["user"]
        self._profiles[user_id] = (time.monotonic(), public_profile(user_id, user or {}))
        return user

    def _lookup(self, email: str) -> str | None:
        result = try_call(
            "prepare",
            self.client.users_lookupByEmail,
            ok_errors=frozenset({"users_not_found"}),
            email=email,
        )
        return None if isinstance(result, str) else result["user"]["id"]

    def _pick_from_roster(self) -> str:
        """The active roster member with the fewest open introductions."""
        with session_scope(self.db) as session:
            members: list[CareMember] = list(active_members(session))
            load = open_introduction_counts(session)
        if not members:
            raise UserError(
                "The care roster is empty: add engineers with `/introduce-care team add @user`."
            )
        for candidate in sorted(members, key=lambda m: (load.get(m.user_id, 0), m.id)):
            if self._usable(candidate.user_id):
                return candidate.user_id
        raise UserError("Nobody on the care roster can take this deal (bots or deactivated).")

    # --- step 1: the channel ------------------------------------------------------------

    def _step_channel(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        intro_id = intro.id or 0
        if intro.channel_id:
            return f"#{intro.channel_name}"
        raw = self.settings.channel_name_template.format(company=deal.company or deal.crm_id)
        candidates = [slack_channel_name(raw)]
        candidates += [slack_channel_name(raw, suffix=f"-{n}") for n in range(2, MAX_NAME_SUFFIX)]
        if intro.channel_name in candidates:  # resume with the name we were creating
            candidates.remove(intro.channel_name)
            candidates.insert(0, intro.channel_name)
        for name in candidates:
            with session_scope(self.db) as session:
                if not claim_channel_name(session, intro=intro, name=name):
                    continue
            created = try_call(
                "channel",
                self.client.conversations_create,
                ok_errors=frozenset({"name_taken"}),
                name=name,
                is_private=self.settings.channel_private,
            )
            if created == "name_taken":
                channel = self._adoptable_channel(name)
                if channel is None:
                    continue
                channel_id = channel["id"]
            else:
                channel_id = created["channel"]["id"]
            if self._record_channel(intro_id, channel_id):
                return f"#{name} ({'adopted' if created == 'name_taken' else 'created'})"
        raise SlackStepError("channel", "no free channel name", permanent=True)

    def _adoptable_channel(self, name: str) -> dict[str, Any] | None:
        """A channel of this name that the bot created and no deal owns: ours, from a crash."""
        cursor = None
        while True:
            page = call(
                "channel",
                self.client.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in page["channels"]:
                if channel.get("name") == name:
                    with session_scope(self.db) as session:
                        owned = channel_owned(session, channel_id=channel["id"])
                    return None if owned or channel.get("creator") != self.bot_user_id else channel
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _record_channel(self, intro_id: int, channel_id: str) -> bool:
        try:
            with session_scope(self.db) as session:
                update_row(session, Introduction, intro_id, channel_id=channel_id)
        except IntegrityError:
            return False
        return True

    @property
    def bot_user_id(self) -> str:
        if self._bot_user_id is None:
            self._bot_user_id = call("channel", self.client.auth_test)["user_id"]
        return self._bot_user_id

    # --- steps 2 and 3: people and topic ---------------------------------------------

    def _step_invite(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        wanted = [u for u in (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id) if u]
        wanted = [u for u in dict.fromkeys(wanted) if u != self.bot_user_id]
        members = set(self._members(intro.channel_id or ""))
        missing = [u for u in wanted if u not in members]
        if missing:
            try_call(
                "invite",
                self.client.conversations_invite,
                ok_errors=frozenset({"already_in_channel"}),
                channel=intro.channel_id,
                users=",".join(missing),
            )
        return f"invited {len(missing)}, {len(wanted) - len(missing)} already in"

    def _members(self, channel_id: str) -> list[str]:
        members: list[str] = []
        cursor = None
        while True:
            page = call(
                "invite",
                self.client.conversations_members,
                channel=channel_id,
                limit=1000,
                cursor=cursor,
            )
            members += page["members"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    def _step_topic(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        topic = render_external_text(
            "external/topic.j2", self.external_context(intro, deal), limit=TOPIC_LIMIT
        )
        call("topic", self.client.conversations_setTopic, channel=intro.channel_id, topic=topic)
        return "topic set"

    def external_context(self, intro: Introduction, deal: Deal) -> ExternalContext:
        """Only public fields: this is all a prospect-facing template can see."""
        assert intro.engineer_user_id
        return ExternalContext(
            company=deal.company or "your team",
            engineer=self._profile(intro.engineer_user_id),
            backup=self._profile(intro.backup_user_id) if intro.backup_user_id else None,
            ae=self._profile(intro.ae_user_id)
            if intro.ae_user_id
            else PublicProfile("", "our team"),
            response_minutes=self.settings.response_minutes,
        )

    def _profile(self, user_id: str) -> PublicProfile:
        """Name, title and photo, as fetched in the last hour (by a check or for a message)."""
        cached = self._profiles.get(user_id)
        if cached is None or time.monotonic() - cached[0] > PROFILE_TTL_SECONDS:
            self._user(user_id)
        return self._profiles[user_id][1]

    # --- step 4: welcome -----------------------------------------------------------------

    def _step_welcome(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        intro_id = intro.id or 0
        channel = intro.channel_id or ""
        ts = intro.welcome_ts
        if not ts:
            message = render_external("external/welcome.j2", self.external_context(intro, deal))
            ts = self._post_once(channel, "careintro_welcome", intro_id, message, check=resumed)
            with session_scope(self.db) as session:
                update_row(session, Introduction, intro_id, welcome_ts=ts)
        try_call(
            "welcome",
            self.client.pins_add,
            ok_errors=frozenset({"already_pinned"}),
            channel=channel,
            timestamp=ts,
        )
        return f"posted and pinned {ts}"

    def _post_once(
        self, channel: str, kind: str, intro_id: int, message: Message, *, check: bool
    ) -> str:
        """Post unless a message of this kind for this introduction is already there.

        The check runs only when the step was interrupted before, so the happy path
        costs one call; the metadata is what makes our own message recognisable.
        """
        if check:
            found = find_posted(
                self.client,
                kind,
                channel=channel,
                event_type=kind,
                payload={"introduction_id": intro_id},
                limit=HISTORY_SCAN,
            )
            if found:
                return found
        result = call(
            kind,
            self.client.chat_postMessage,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": kind, "event_payload": {"introduction_id": intro_id}},
        )
        return str(result["ts"])

    # --- step 5: Slack Connect -----------------------------------------------------------

    def _step_connect(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        return self._invite_next(intro, deal)

    def invite_next_contacts(self, intro_id: int) -> str:
        """Invite waiting contacts one at a time: Slack allows one pending invitation per
        channel, so the rest wait until it is accepted."""
        return self._invite_next(*self._load(intro_id))

    def _invite_next(self, intro: Introduction, deal: Deal) -> str:
        while True:
            with session_scope(self.db) as session:
                contacts = list(contacts_of(session, deal_id=deal.id))
            if any(c.invite_state == InviteState.SENT for c in contacts):
                return PENDING
            queue = [c for c in contacts if c.invite_state == InviteState.SENDING]
            queue += [c for c in contacts if c.invite_state == InviteState.WAITING]
            if not queue:
                return f"{len(contacts)} contacts handled"
            contact = queue[0]
            was_sending = contact.invite_state == InviteState.SENDING
            self._set_invite(contact.id, InviteState.SENDING)
            result = try_call(
                "connect",
                self.client.conversations_inviteShared,
                ok_errors=frozenset(
                    {
                        *CONNECT_UNAVAILABLE,
                        "invalid_email",
                        "user_not_found",
                        "already_in_channel",
                        "connection_limit_exceeded_pending",
                        "member_limit_exceeded",
                        "invite_lookup_error",
                    }
                ),
                channel=intro.channel_id,
                emails=contact.email,
            )
            if not isinstance(result, str):
                self._set_invite(contact.id, InviteState.SENT, invite_id=result.get("invite_id"))
                log.info("deal=%s invited %s", deal.crm_id, mask_email(contact.email))
                return PENDING  # ours, just sent
            if result == "connection_limit_exceeded_pending":
                # Ours went through before a crash, or someone else's is pending: either
                # way one is pending now, and this contact goes next or is already sent.
                self._set_invite(
                    contact.id, InviteState.SENT if was_sending else InviteState.WAITING
                )
                return PENDING
            if result == "already_in_channel":
                self._set_invite(contact.id, InviteState.ACCEPTED)
            elif result in CONNECT_UNAVAILABLE:
                return self._connect_unavailable(intro, deal, result)
            else:
                self._set_invite(contact.id, InviteState.FAILED, error=result)

    def _set_invite(
        self,
        contact_id: int | None,
        state: InviteState,
        *,
        invite_id: str | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"invite_state": state, "invite_error": error}
        if invite_id:
            values["invite_id"] = invite_id
        if state == InviteState.SENT:
            values["invited_at"] = utcnow()
        if state == InviteState.ACCEPTED:
            values["accepted_at"] = utcnow()
        with session_scope(self.db) as session:
            update_row(session, Contact, contact_id, **values)

    def _connect_unavailable(self, intro: Introduction, deal: Deal, error: str) -> str:
        with session_scope(self.db) as session:
            waiting = [
                c
                for c in contacts_of(session, deal_id=deal.id)
                if c.invite_state in (InviteState.WAITING, InviteState.SENDING)
            ]
        for contact in waiting:
            self._set_invite(contact.id, InviteState.FAILED, error=error)
        ae = intro.ae_user_id or intro.requested_by
        if ae:
            message = render_internal(
                "internal/ae_connect_unavailable.j2",
                deal=deal,
                channel_id=intro.channel_id,
                error=error,
                advice=CONNECT_UNAVAILABLE[error],
                contacts=[c.email for c in waiting],
            )
            self._dm_once(ae, "careintro_connect_unavailable", intro.id or 0, message, check=True)
        log.warning("deal=%s slack connect unavailable: %s", deal.crm_id, error)
        return f"Slack Connect unavailable: {error}"

    # --- steps 6 and 7: the brief and the AE's confirmation ------------------------------

    def _step_brief(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        intro_id = intro.id or 0
        with session_scope(self.db) as session:
            contacts = [c.email for c in contacts_of(session, deal_id=deal.id)]
        message = render_internal(
            "internal/brief.j2",
            deal=deal,
            channel_id=intro.channel_id,
            contacts=contacts,
            ae_user_id=intro.ae_user_id,
            backup_user_id=intro.backup_user_id,
            response_minutes=self.settings.response_minutes,
        )
        self._dm_once(
            intro.engineer_user_id or "", "careintro_brief", intro_id, message, check=resumed
        )
        return "brief sent"

    def _step_notify_ae(self, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
        intro_id = intro.id or 0
        ae = intro.ae_user_id or intro.requested_by
        if not ae:
            return "no AE to tell"
        with session_scope(self.db) as session:
            contacts = [
                c.email
                for c in contacts_of(session, deal_id=deal.id)
                if c.invite_state != InviteState.FAILED
            ]
        message = render_internal(
            "internal/ae_done.j2",
            deal=deal,
            channel_id=intro.channel_id,
            engineer_user_id=intro.engineer_user_id,
            late=intro.late,
            contacts=contacts,
        )
        self._dm_once(ae, "careintro_ae_done", intro_id, message, check=resumed)
        return "AE told"

    def _dm_once(
        self, user_id: str, kind: str, intro_id: int, message: Message, *, check: bool
    ) -> str:
        im = open_dm(kind, self.client, user_id)
        return self._post_once(im, kind, intro_id, message, check=check)

    # --- the end of a run ----------------------------------------------------------------

    def _finish(self, intro_id: int, done: Done | None) -> None:
        with session_scope(self.db) as session:
            if done is not None:
                self._record_done(session, intro_id, done)
            intro = session.get(Introduction, intro_id)
            assert intro is not None
            people = (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id)
            released = self._release(
                session, intro_id, status=IntroStatus.DONE, last_error=None, finished_at=utcnow()
            )
            if not released:  # another worker took over: it records the end
                raise LeaseLost
        log.info("intro_id=%s done", intro_id)
        if self.homes is not None:
            self.homes.mark(people)  # published by the worker, debounced

    def _hand_back(self, intro_id: int, done: Done | None) -> None:
        """The process is stopping (a deploy's SIGTERM): record what is done and free the
        lease, so the next worker goes on at once instead of when the lease runs out."""
        with session_scope(self.db) as session:
            if done is not None:
                self._record_done(session, intro_id, done)
            self._release(session, intro_id)
        log.info("intro_id=%s handed back: this worker is stopping", intro_id)

    def _on_slack_error(self, intro_id: int, exc: SlackStepError) -> None:
        reason = f"{exc.step}: {REASONS.get(exc.error, exc.error)}"
        if exc.permanent:
            self._fail(intro_id, reason)
            return
        with session_scope(self.db) as session:
            intro = session.get(Introduction, intro_id)
            assert intro is not None
            attempts = intro.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                give_up = True
            else:
                give_up = False
                delay = timedelta(seconds=min(2**attempts, 300))
                self._release(
                    session,
                    intro_id,
                    attempts=attempts,
                    last_error=reason,
                    next_attempt_at=utcnow() + delay,
                )
        if give_up:
            self._fail(intro_id, f"{reason} (gave up after {MAX_ATTEMPTS} attempts)")
        else:
            log.warning("intro_id=%s transient failure, retrying: %s", intro_id, reason)

    def _fail(self, intro_id: int, reason: str) -> None:
        """Tell the AE, then record the failure: once it shows as failed, they know."""
        log.error("intro_id=%s failed: %s", intro_id, reason)
        intro, deal = self._load(intro_id)
        person = intro.ae_user_id or intro.requested_by or deal.registered_by
        if person:
            message = render_internal(
                "internal/ae_failed.j2", deal=deal, reason=reason, channel_id=intro.channel_id
            )
            try:
                self._dm(person, message)
            except SlackStepError as exc:
                log.error("intro_id=%s could not tell %s of the failure: %s", intro_id, person, exc)
        with session_scope(self.db) as session:
            self._release(
                session,
                intro_id,
                status=IntroStatus.FAILED,
                last_error=reason[:500],
                finished_at=utcnow(),
            )

    def _dm(self, user_id: str, message: Message) -> None:
        send_dm("notify", self.client, user_id, text=message.text, blocks=message.blocks)

    def _release(self, session: Session, intro_id: int, **values: Any) -> bool:
        """Give the lease up with these changes; False when it was no longer ours."""
        changed = update_row(
            session, Introduction, intro_id, where={"lease_owner": self.owner},
            lease_owner=None, lease_until=None, **values,
        )  # fmt: skip
        return changed == 1
