"""`/introduce-care invite <deal> email …` end to end: signed commands through the real
app, invitations sent by the real worker to the emulator, one pending at a time."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.exceptions import USAGE
from bot.models import Contact, InviteState
from tests.conftest import TOKEN
from tests.factories import make_deal
from tests.flows.test_events import deliver, introduce
from tests.flows.test_invitations import CEO, CFO, CTO, invite_of, states
from tests.waiting import wait_for


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("invite D-404 cfo@acme.example", "I don't know deal D-404"),
        ("invite D-1 cfo@acme.example not-an-email", "`not-an-email` is not a valid email"),
        ("invite D-1", "Say whom to invite"),
        ("invite D-1 " + " ".join(f"p{n}@acme.example" for n in range(21)), "At most 20"),
    ],
)
def test_bad_input_gets_one_line_and_the_usage_and_changes_nothing(bot, fake, text, reason):
    introduce(bot, CTO)
    fake.reset_calls()
    status, answer = bot.command(text)
    assert status == 200
    first, usage = answer["text"].split("\n")
    assert reason in first and usage == USAGE
    assert states(bot) == {CTO: InviteState.SENT}
    time.sleep(0.2)
    assert fake.calls_to("conversations.inviteShared") == []


def test_more_than_twenty_contacts_in_all_is_refused_whole(bot, fake):
    make_deal(bot.engine, "D-7", contacts=[f"p{n}@acme.example" for n in range(19)])
    status, answer = bot.command("invite D-7 a@acme.example b@acme.example")
    assert status == 200
    assert "At most 20 contacts per deal." in answer["text"]
    assert len(states(bot)) == 19


def test_a_deal_not_introduced_yet_gets_the_contacts_and_the_introduction_invites_them(bot, fake):
    make_deal(bot.engine, "D-2", company="Beta", watched=True)
    status, answer = bot.command(f"invite D-2 {CFO}")
    assert status == 200
    assert answer["text"].startswith(f"Added {CFO} to Beta (D-2).")
    assert "invited when the deal is introduced" in answer["text"]
    time.sleep(0.3)
    assert states(bot) == {CFO: InviteState.WAITING} and fake.shared_invites == []


def test_contacts_added_behind_a_pending_invitation_wait_their_turn(bot, fake):
    introduce(bot, CTO)
    _, answer = bot.command(f"invite D-1 {CFO} {CTO} <mailto:{CEO}|{CEO}>")
    assert "Already a contact: cto@acme.example" in answer["text"]
    assert "one at a time" in answer["text"]
    time.sleep(0.3)  # the worker was woken, and leaves them waiting: one is pending
    assert states(bot) == {CTO: InviteState.SENT, CFO: InviteState.WAITING,
                           CEO: InviteState.WAITING}  # fmt: skip

    deliver(bot, fake.accept_shared_invite(invite_of(fake, CTO)["invite_id"]))
    assert states(bot)[CFO] == InviteState.SENT and states(bot)[CEO] == InviteState.WAITING
    deliver(bot, fake.accept_shared_invite(invite_of(fake, CFO)["invite_id"], "U_EXT2"))
    assert states(bot)[CEO] == InviteState.SENT
    assert [i["email"] for i in fake.shared_invites] == [CTO, CFO, CEO]


def test_with_nobody_pending_the_worker_invites_the_new_contact_at_once(bot, fake):
    introduce(bot, CTO)
    deliver(bot, fake.accept_shared_invite(invite_of(fake, CTO)["invite_id"]))
    status, answer = bot.command(f"invite D-1 {CFO}")
    assert status == 200 and "one at a time" in answer["text"]
    wait_for(lambda: states(bot)[CFO] == InviteState.SENT, "the new contact was not invited")
    _, again = bot.command(f"invite D-1 {CFO}")
    assert again["text"] == f"{CFO} is already a contact of Acme Corp (D-1); nothing changed."
    with Session(bot.engine) as session:
        assert len(session.exec(select(Contact)).all()) == 2
    assert len(fake.shared_invites) == 2


def test_someone_elses_pending_invitation_makes_the_queue_wait_without_hammering_slack(bot, fake):
    channel = introduce(bot, CTO)
    deliver(bot, fake.accept_shared_invite(invite_of(fake, CTO)["invite_id"]))
    by_hand = WebClient(token=TOKEN, base_url=fake.url)  # a person invites from the channel
    by_hand.conversations_inviteShared(channel=channel, emails="partner@other.example")
    fake.reset_calls()
    bot.command(f"invite D-1 {CFO}")
    wait_for(lambda: fake.calls_to("conversations.inviteShared"), "the worker did not try")
    time.sleep(1)  # twenty polls: it waits (RETRY_SECONDS), not one refused call per poll
    assert len(fake.calls_to("conversations.inviteShared")) == 1
    assert states(bot)[CFO] == InviteState.WAITING
