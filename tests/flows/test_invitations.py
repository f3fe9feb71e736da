"""Slack Connect answers end to end (SPEC step 5): the emulator answers as Slack would,
its events go through the real HTTP app into the worker, and what people see follows.

Approval, decline, stale after 7 days with a re-send, lapse after 14; the Slack clock
is moved with time_machine (the worker and the emulator share it).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from sqlmodel import Session, select

from bot.ids import ActionId
from bot.models import Contact, InviteState
from tests.flows.test_events import deliver, event_body, introduce, send_event, wait_applied
from tests.flows.test_reminders import block_actions
from tests.waiting import wait_for

CTO, CFO, CEO = "cto@acme.example", "cfo@acme.example", "ceo@acme.example"


def states(bot: Any) -> dict[str, str]:
    with Session(bot.engine) as session:
        return {c.email: c.invite_state for c in session.exec(select(Contact)) if c.email}


def invite_of(fake: Any, email: str) -> dict[str, Any]:
    return [i for i in fake.shared_invites if i["email"] == email][-1]


def dms_saying(fake: Any, user: str, words: str) -> list[dict[str, Any]]:
    return [m for m in fake.dm_messages(user) if words in json.dumps(m.get("blocks"))]


def status_blocks(bot: Any, deal: str = "D-1") -> list[dict[str, Any]]:
    status, answer = bot.command(f"status {deal}")
    assert status == 200
    return list(answer["blocks"])


def resend_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b["accessory"]
        for b in blocks
        if b.get("accessory", {}).get("action_id") == ActionId.RESEND_INVITE
    ]


# --- an admin's approval -------------------------------------------------------------


def test_approval_required_waits_for_the_approval_before_anyone_is_told(bot, fake):
    introduce(bot, CTO, CFO)
    first = invite_of(fake, CTO)["invite_id"]

    deliver(bot, fake.accept_shared_invite(first, approval_required=True))
    assert states(bot) == {CTO: InviteState.APPROVAL, CFO: InviteState.WAITING}
    assert [i["email"] for i in fake.shared_invites] == [CTO]  # the channel is still held
    assert dms_saying(fake, "U_AE", "accepted the Slack Connect") == []
    assert f"{CTO}: awaiting approval" in json.dumps(status_blocks(bot))

    approved = fake.approve_shared_invite(first)
    assert approved["type"] == "shared_channel_invite_approved"
    assert approved["approving_team_id"] == "T_EXT" and approved["approving_user"]["id"]
    body = event_body(approved)
    for retry in range(2):  # Slack's retry of the same event changes nothing
        assert send_event(bot, body, retry=retry) == 200
    wait_applied(bot, body["event_id"])
    assert states(bot) == {CTO: InviteState.ACCEPTED, CFO: InviteState.SENT}
    assert [i["email"] for i in fake.shared_invites] == [CTO, CFO]
    assert len(dms_saying(fake, "U_AE", "accepted the Slack Connect")) == 1
    assert len(dms_saying(fake, "U_ENG", "accepted the Slack Connect")) == 1


def test_an_approval_waiting_a_week_tells_the_ae_to_ask_the_admins(bot, fake):
    """Slack holds the channel's one invitation until an admin answers: nothing behind it
    can go, and no re-send helps, so `status` says who must act."""
    introduce(bot, CTO, CFO)
    deliver(
        bot, fake.accept_shared_invite(invite_of(fake, CTO)["invite_id"], approval_required=True)
    )
    with time_machine.travel(in_days(6)):
        assert f"{CTO}: awaiting approval" in json.dumps(status_blocks(bot))
    with time_machine.travel(in_days(8)):
        blocks = json.dumps(status_blocks(bot))
        assert f"{CTO}: awaiting an admin's approval for 8 days" in blocks
        assert "ask the admins" in blocks
        assert resend_buttons(status_blocks(bot)) == []
        assert states(bot) == {CTO: InviteState.APPROVAL, CFO: InviteState.WAITING}


# --- a decline -----------------------------------------------------------------------


def test_a_declined_invitation_is_marked_the_ae_told_and_the_next_contact_invited(bot, fake):
    introduce(bot, CTO, CFO)
    declined = fake.decline_shared_invite(invite_of(fake, CTO)["invite_id"])
    assert declined["type"] == "shared_channel_invite_declined"
    assert declined["declining_team_id"] == "T_EXT"

    deliver(bot, declined)
    deliver(bot, declined)  # the same answer again tells nobody twice
    assert states(bot) == {CTO: InviteState.DECLINED, CFO: InviteState.SENT}
    [told] = dms_saying(fake, "U_AE", "declined the Slack Connect invitation")
    assert CTO in told["text"] and f"Next invited: {CFO}" in json.dumps(told["blocks"])
    assert dms_saying(fake, "U_ENG", "declined") == []
    assert f"{CTO}: declined" in json.dumps(status_blocks(bot))


def test_an_admin_declining_after_the_acceptance_frees_the_channel_too(bot, fake):
    introduce(bot, CTO, CFO)
    first = invite_of(fake, CTO)["invite_id"]
    deliver(bot, fake.accept_shared_invite(first, approval_required=True))
    deliver(bot, fake.decline_shared_invite(first, decliner="U_EXTADMIN"))
    assert states(bot) == {CTO: InviteState.DECLINED, CFO: InviteState.SENT}
    [told] = dms_saying(fake, "U_AE", "declined the Slack Connect invitation")
    assert CFO in json.dumps(told["blocks"])


def test_a_crash_after_the_decline_was_recorded_still_tells_the_ae_once(bot, fake):
    """The worker died between recording the answer and DMing the AE: the event, taken
    over, finds the contact already declined and tells the AE then, once."""
    introduce(bot, CTO, CFO)
    declined = fake.decline_shared_invite(invite_of(fake, CTO)["invite_id"])
    with Session(bot.engine) as session:  # what the dead worker's transaction left
        [contact] = session.exec(select(Contact).where(Contact.email == CTO)).all()
        contact.invite_state = InviteState.DECLINED
        session.add(contact)
        session.commit()

    deliver(bot, declined)
    deliver(bot, declined)  # taken over again, or delivered again: still one DM
    assert len(dms_saying(fake, "U_AE", "declined the Slack Connect invitation")) == 1
    assert states(bot) == {CTO: InviteState.DECLINED, CFO: InviteState.SENT}


# --- nobody answers: stale after 7 days, lapsed after 14 -----------------------------


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_a_stale_invitation_shows_a_resend_that_goes_out_once_slack_lets_the_first_lapse(bot, fake):
    introduce(bot, CTO, CFO)
    first = invite_of(fake, CTO)["invite_id"]
    assert resend_buttons(status_blocks(bot)) == []  # a fresh invitation is not stale

    with time_machine.travel(in_days(8)):
        blocks = status_blocks(bot)
        assert f"{CTO}: stale (sent 8 days ago, not accepted)" in json.dumps(blocks)
        [button] = resend_buttons(blocks)
        _, listed = bot.command("status")  # the list of the caller's deals shows it too
        assert resend_buttons(listed["blocks"]) == [button]
        deliver(bot, {"type": "app_home_opened", "user": "U_AE", "tab": "home"})
        home = fake.views_published["U_AE"]["blocks"]
        assert "Invitations nobody accepted" in json.dumps(home[0])
        assert resend_buttons(home) == [button]

        # pressed in the App Home (no channel): answered in a DM
        payload = block_actions({"ts": "1.0", "channel": ""}, button)
        payload.pop("channel")
        payload["container"] = {"type": "view", "view_id": "V1"}
        status, _ = bot.interact(payload)
        assert status == 200
        [answer] = wait_for(lambda: dms_saying_text(fake, "U_AE", "Slack still holds"), "no answer")
        until = (datetime.now(UTC) + timedelta(days=6)).strftime("%a %d %b %Y")
        assert CTO in answer["text"] and f"until {until}" in answer["text"]
        assert states(bot)[CTO] == InviteState.RESEND
        assert len(fake.shared_invites) == 1  # nothing sent while Slack holds the first

    with time_machine.travel(in_days(15)):  # Slack's invitation lapsed: the re-send goes
        # Slack answers before the worker records it ("sending" until then): wait for both
        wait_for(lambda: len(fake.shared_invites) == 2, "the re-send was not sent")
        wait_for(lambda: states(bot)[CTO] == InviteState.SENT, "the re-send was not recorded")
        assert states(bot) == {CTO: InviteState.SENT, CFO: InviteState.WAITING}
        assert invite_of(fake, CTO)["invite_id"] != first
        assert resend_buttons(status_blocks(bot)) == []  # sent again just now


def dms_saying_text(fake: Any, user: str, words: str) -> list[dict[str, Any]]:
    return [m for m in fake.dm_messages(user) if words in m.get("text", "")]


def test_a_lapsed_invitation_expires_and_the_next_contact_is_invited(bot, fake):
    introduce(bot, CTO, CFO)
    fake.lapse_shared_invite(invite_of(fake, CTO)["invite_id"])  # Slack's side lapsed...
    time.sleep(0.3)
    assert states(bot)[CTO] == InviteState.SENT  # ...but ours waits its 14 days

    with time_machine.travel(in_days(14.01)):
        wait_for(lambda: states(bot)[CFO] == InviteState.SENT, "the next was not invited")
        assert states(bot)[CTO] == InviteState.EXPIRED
        blocks = status_blocks(bot)
        assert f"{CTO}: expired" in json.dumps(blocks)
        [button] = resend_buttons(blocks)

        # re-sent: back in the queue, invited once the one pending now is answered
        im = next(c.id for c in fake.channels.values() if c.is_im and c.im_user == "U_AE")
        status, _ = bot.interact(block_actions({"ts": "1.0", "channel": im}, button))
        assert status == 200
        [answer] = wait_for(lambda: fake.ephemeral, "no answer to the button")
        assert answer["text"].startswith(f"Re-sending the invitation to {CTO}")
        assert states(bot)[CTO] == InviteState.WAITING
        deliver(bot, fake.accept_shared_invite(invite_of(fake, CFO)["invite_id"], "U_EXT2"))
        assert states(bot) == {CTO: InviteState.SENT, CFO: InviteState.ACCEPTED}


def test_the_ae_weekly_reminder_lists_the_stale_invitation_with_its_resend(make_bot, fake):
    day = date.today() + timedelta(days=10)
    bot = make_bot(reminder_day=day.strftime("%a").lower())
    introduce(bot, CTO)
    la = ZoneInfo("America/Los_Angeles")  # U_AE's zone in the emulator
    with time_machine.travel(datetime(day.year, day.month, day.day, 9, 1, tzinfo=la)):
        [reminder] = wait_for(
            lambda: dms_saying_text(fake, "U_AE", "weekly CareIntro reminder"), "no reminder"
        )
    blocks = reminder["blocks"]
    assert "Invitations nobody accepted" in json.dumps(blocks)
    [button] = resend_buttons(blocks)
    assert blocks[-1]["type"] == "context"  # the small print stays last
    with Session(bot.engine) as session:
        contact = session.exec(select(Contact)).one()
    assert button["value"] == str(contact.id)
