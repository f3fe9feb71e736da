"""`/introduce-care now …` end to end: signed HTTP in, the emulator's state out."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.flows.introduction import people
from bot.models import Contact, Introduction, IntroductionStep, IntroStatus, InviteState
from tests.factories import make_deal, make_member

NOW = "now D-1 Acme Corp <@U_ENG> cto@acme.example"


def everything_said(fake, channel_id: str) -> str:
    """All text a person could read in a channel: messages, blocks, topic."""
    channel = fake.channels[channel_id]
    parts = [channel.topic] + [
        json.dumps(m.get("blocks")) + m.get("text", "") for m in fake.messages(channel_id)
    ]
    return "\n".join(parts)


def test_now_introduces_with_every_step(bot, fake):
    make_member(bot.engine, "U_ENG", backup="U_BACKUP")
    status, answer = bot.command(NOW)
    assert status == 200
    assert "Introducing Acme Corp" in answer["text"]
    assert answer["response_type"] == "ephemeral"

    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    channel = fake.channel_by_name("care-acme-corp")
    assert channel is not None and channel.is_private and intro.channel_id == channel.id
    assert {"U_ENG", "U_BACKUP", "U_AE"} <= set(channel.members)
    assert "Erin Engineer" in channel.topic and "30 minutes" in channel.topic
    [welcome] = fake.messages(channel.id)
    assert "Erin Engineer" in json.dumps(welcome["blocks"])
    assert welcome["ts"] in channel.pins
    assert [(i["channel"], i["email"]) for i in fake.shared_invites] == [
        (channel.id, "cto@acme.example")
    ]
    [brief] = fake.dm_messages("U_ENG")
    assert "Hand-off brief" in brief["text"]
    [told] = fake.dm_messages("U_AE")
    assert "met their support engineer" in told["text"]
    with Session(bot.engine) as session:
        steps = session.exec(select(IntroductionStep)).all()
        assert sorted(s.step for s in steps if s.done_at) == sorted(
            ["prepare", "channel", "invite", "topic", "welcome", "connect", "brief", "notify_ae"]
        )


def test_sending_it_again_changes_nothing(bot, fake):
    make_member(bot.engine)
    bot.command(NOW)
    bot.wait_idle()
    calls_before = len([c for c in fake.calls if c.method != "views.publish"])

    status, answer = bot.command(NOW)
    bot.wait_idle()
    assert status == 200
    assert "already introduced" in answer["text"]
    assert len([c for c in fake.calls if c.method != "views.publish"]) == calls_before
    assert len([c for c in fake.channels.values() if c.name.startswith("care-")]) == 1


def test_name_taken_by_an_unrelated_channel_gets_a_suffix(bot, fake):
    fake.add_channel(name="care-acme-corp", creator="U_AE", is_private=False, members=["U_AE"])
    make_member(bot.engine)
    bot.command(NOW)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert fake.channels[intro.channel_id].name == "care-acme-corp-2"


def test_slack_connect_unavailable_tells_the_ae_and_completes(bot, fake):
    fake.slack_connect = False
    make_member(bot.engine)
    bot.command(NOW)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert fake.dm_messages("U_ENG"), "the brief still goes out"
    texts = [m["text"] for m in fake.dm_messages("U_AE")]
    assert any("Slack Connect" in t for t in texts), texts
    assert any("met their support engineer" in t for t in texts)
    with Session(bot.engine) as session:
        [contact] = session.exec(select(Contact)).all()
        assert contact.invite_state == InviteState.FAILED and contact.invite_error == "not_paid"


def test_second_contact_waits_while_the_first_invitation_is_pending(bot, fake):
    make_member(bot.engine)
    bot.command("now D-1 Acme Corp <@U_ENG> cto@acme.example ops@acme.example")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert [i["email"] for i in fake.shared_invites] == ["cto@acme.example"]
    with Session(bot.engine) as session:
        states = {c.email: c.invite_state for c in session.exec(select(Contact))}
    assert states == {"cto@acme.example": InviteState.SENT, "ops@acme.example": InviteState.WAITING}
    _, answer = bot.command("status D-1")
    assert "ops@acme.example: waiting" in json.dumps(answer)


def test_hostile_company_name_is_shown_only_as_text(bot, fake):
    make_member(bot.engine)
    bot.command("now D-1 <!channel> <https://evil.example|x> <@U_ENG> cto@acme.example")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    said = everything_said(fake, intro.channel_id)
    said += json.dumps([m["blocks"] for m in fake.dm_messages("U_ENG") + fake.dm_messages("U_AE")])
    assert "<!channel>" not in said and "<https://evil.example" not in said
    assert "&lt;!channel&gt;" in said and "&lt;https://evil.example|x&gt;" in said
    assert fake.channels[intro.channel_id].name == "care-channel-https-evil-example-x"


def test_amount_and_notes_reach_only_internal_messages(bot, fake):
    make_member(bot.engine)
    make_deal(bot.engine, "D-1", amount=987654, notes="CANARY-NOTE promised a discount")
    bot.command(NOW)
    [intro] = bot.wait_idle()
    prospect_side = everything_said(fake, intro.channel_id) + json.dumps(fake.shared_invites)
    assert "987" not in prospect_side and "CANARY-NOTE" not in prospect_side
    brief = json.dumps(fake.dm_messages("U_ENG"))
    assert "987,654" in brief and "CANARY-NOTE" in brief


def test_engineer_picked_from_roster_when_none_named(bot, fake):
    make_member(bot.engine, "U_ENG", backup="U_BACKUP")
    make_member(bot.engine, "U_ENG2", backup=None)
    make_deal(bot.engine, "D-0", company="Other")
    bot.command("now D-0 <@U_ENG>")
    bot.wait_idle()
    bot.command("now D-1 Acme Corp cto@acme.example")
    intros = bot.wait_idle()
    assert intros[-1].engineer_user_id == "U_ENG2"  # fewest open introductions


def test_a_bot_or_deactivated_engineer_fails_with_a_reason(bot, fake):
    for user in ("U_ROBOT", "U_GONE"):
        fake.reset_calls()
        bot.command(f"now D-{user} Acme <@{user}>")
    intros = bot.wait_idle()
    assert [i.status for i in intros] == [IntroStatus.FAILED, IntroStatus.FAILED]
    assert "is a bot" in intros[0].last_error and "deactivated" in intros[1].last_error
    assert not [c for c in fake.channels.values() if c.name.startswith("care-")]
    assert len(fake.dm_messages("U_AE")) == 2


def test_rate_limits_are_waited_out(bot, fake):
    make_member(bot.engine)
    fake.rate_limit_next("conversations.create", retry_after=1)
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    bot.command(NOW)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    creates = fake.calls_to("conversations.create")
    assert [c.status for c in creates] == [429, 200]
    assert creates[1].at - creates[0].at >= 1.0


def test_a_permanent_error_fails_with_its_reason_and_tells_the_ae(bot, fake):
    make_member(bot.engine)
    fake.fail_next("conversations.setTopic", error="channel_not_found")
    bot.command(NOW)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.FAILED
    assert "channel was deleted" in intro.last_error
    assert any("could not finish" in m["text"] for m in fake.dm_messages("U_AE"))
    _, answer = bot.command("status D-1")
    assert "failed" in json.dumps(answer) and "channel was deleted" in json.dumps(answer)

    bot.command(NOW)  # fixed: run it again, it goes on from the failed step
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE
    assert len(fake.calls_to("conversations.create")) == 1


def test_transient_errors_are_retried_without_duplicates(bot, fake):
    make_member(bot.engine)
    fake.drop_next("chat.postMessage", after_effect=True)  # posted, but we never heard back
    fake.fail_next("conversations.invite", status=500)
    bot.command(NOW)
    [intro] = bot.wait_idle(timeout=30)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert len(fake.messages(intro.channel_id)) == 1


def test_unknown_subcommand_gets_reason_and_usage(bot, fake):
    status, answer = bot.command("frobnicate D-1")
    assert status == 200
    assert "I don't know `frobnicate`" in answer["text"] and "Usage:" in answer["text"]
    with Session(bot.engine) as session:
        assert session.exec(select(Introduction)).all() == []


def test_each_person_is_looked_up_once_per_introduction(bot, fake):
    """The check that the engineer is not a bot or deactivated also gives the profile the
    prospect-facing messages show: one users.info per person, not one per use."""
    make_member(bot.engine, "U_ENG", backup="U_BACKUP")
    bot.command(NOW)
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    looked_up = Counter(c.args.get("user") for c in fake.calls_to("users.info"))
    assert looked_up == {"U_ENG": 1, "U_BACKUP": 1, "U_AE": 1}


def test_a_profile_is_fetched_again_once_older_than_its_ttl(make_bot, fake, monkeypatch):
    """A profile only shown (the AE's) is kept for an hour, then fetched again."""
    bot = make_bot(worker_threads=1)  # one runner, one cache
    make_member(bot.engine, "U_ENG")
    bot.command(NOW)
    bot.wait_idle()
    fake.add_user("U_AE", name="alex", real_name="Alexandra Account", email="alex@ours.example")
    bot.command("now D-2 Beta Inc <@U_ENG> cto@beta.example")
    bot.wait_idle()
    assert "with Alex Account." in fake.channel_by_name("care-beta-inc").topic  # kept
    monkeypatch.setattr(people, "PROFILE_TTL_SECONDS", 0.0)  # an hour has passed
    bot.command("now D-3 Gamma Ltd <@U_ENG> cto@gamma.example")
    intros = bot.wait_idle()
    assert [i.status for i in intros] == [IntroStatus.DONE] * 3
    assert "with Alexandra Account." in fake.channel_by_name("care-gamma-ltd").topic


def test_a_database_connection_lost_mid_run_is_replaced(bot, fake):
    """A run holds one connection. If the database drops it (a restart, a failover) while
    the run waits on Slack, the run goes on with a new one, not when its lease runs out."""
    if bot.engine.dialect.name != "postgresql":
        pytest.skip("a database server that can drop connections: PostgreSQL")
    make_member(bot.engine, "U_ENG")
    hung = fake.hang("conversations.setTopic")
    bot.command(NOW)
    deadline = time.monotonic() + 10
    while not fake.calls_to("conversations.setTopic"):  # the run waits on Slack
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with bot.engine.connect() as connection:  # every other connection to this database
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    hung.set()

    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert len(fake.calls_to("conversations.create")) == 1
    channel = fake.channel_by_name("care-acme-corp")
    assert channel is not None and len(fake.messages(channel.id)) == 1  # one welcome


def test_a_worker_whose_lease_ran_out_stops_and_the_next_finishes_once(make_bot, fake, caplog):
    """A step outlives the lease (a hung Slack call): another worker takes the introduction
    over; when the call returns, the first finds its lease gone at its next step and stops,
    so nothing is done twice. (A lease is renewed only once half of it has gone by.)"""
    first = make_bot(lease_seconds=1)
    make_member(first.engine, "U_ENG")
    hung = fake.hang("conversations.setTopic")
    first.command(NOW)
    deadline = time.monotonic() + 10
    while not fake.calls_to("conversations.setTopic"):  # the first worker waits on Slack
        assert time.monotonic() < deadline
        time.sleep(0.02)
    make_bot(lease_seconds=30)  # claims it once the first one's lease has run out
    while len(fake.calls_to("conversations.setTopic")) < 2:  # ... and resumed the topic
        assert time.monotonic() < deadline + 10
        time.sleep(0.02)
    hung.set()

    [intro] = first.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert "lease lost" in caplog.text
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(fake.messages(intro.channel_id)) == 1  # one welcome
    assert len(fake.shared_invites) == 1
    assert len(fake.dm_messages("U_ENG")) == 1 and len(fake.dm_messages("U_AE")) == 1


def test_the_step_table_runs_every_step_in_order():
    """The runner finds each step in one explicit table, in the SPEC's order."""
    from bot.flows.introduction.runner import STEP_TABLE
    from bot.models import STEPS

    assert tuple(STEP_TABLE) == STEPS
    assert all(fn.__name__ == f"{step.value}_step" for step, fn in STEP_TABLE.items())
