"""A lost deal's care channel: the day-before notice and the archive at CARE_ARCHIVE_LOST_DAYS
(14 by default), each once whatever the workers and crashes; a reopen cancels it or gets
the same channel back (Slack does not let a bot unarchive: people are told how)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import Session, select

from bot.flows import stages
from bot.flows.archive import BY_HAND_KIND, NOTICE_KIND, ChannelArchives
from bot.models import ArchiveState, ChannelArchive, Introduction, IntroStatus, utcnow
from bot.slack.client import make_client
from bot.store import archives
from bot.store.deals import upsert_deal
from bot.store.nodes import beat
from tests.conftest import RunningBot, start_bot, stop_bot
from tests.flows.test_events import introduce
from tests.flows.test_response_watch import settle


def from_now() -> time_machine.travel:
    return time_machine.travel(datetime.now(UTC), tick=True)


def sent(fake, user_id: str, kind: str = NOTICE_KIND) -> list[dict]:
    return [
        m for m in fake.dm_messages(user_id) if (m.get("metadata") or {}).get("event_type") == kind
    ]


def eventually(check, timeout: float = 10) -> None:
    """The worker's own thread may hold a claim and still be calling Slack: wait for it."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def archive_calls(fake) -> list:
    return [c for c in fake.calls_to("conversations.archive") if c.ok]


def row_of(bot: RunningBot) -> ChannelArchive:
    with Session(bot.engine) as session:
        return session.exec(select(ChannelArchive)).one()


def status_text(bot: RunningBot) -> str:
    _, answer = bot.command("status D-1")
    return json.dumps(answer["blocks"], ensure_ascii=False)


def day(moment: datetime) -> str:
    return moment.strftime("%a %d %b %Y")


def lose(bot: RunningBot, stage: str = "Closed Lost") -> None:
    status, _ = bot.command(f"stage D-1 {stage}")
    assert status == 200


def archive_now(bot: RunningBot, fake, clock) -> None:
    """Lost, told at 13 days, archived at 14."""
    lose(bot)
    clock.shift(timedelta(days=13, minutes=1))
    settle(bot)
    eventually(lambda: row_of(bot).notice_sent_at is not None)
    clock.shift(timedelta(days=1, minutes=1))
    settle(bot)
    eventually(lambda: row_of(bot).state == ArchiveState.ARCHIVED)


def test_by_default_the_channel_is_archived_14_days_after_the_loss_told_the_day_before(bot, fake):
    assert bot.runtime.settings.archive_lost_days == 14  # the default, not set by the test
    channel = introduce(bot)
    with from_now() as clock:
        lost_at = utcnow()
        lose(bot)
        assert f"to be archived on {day(lost_at + timedelta(days=14))}" in status_text(bot)

        clock.shift(timedelta(days=12, hours=23))
        settle(bot)
        assert sent(fake, "U_ENG") == [] and sent(fake, "U_AE") == []

        clock.shift(timedelta(hours=1, minutes=1))  # 13 days: the day before
        settle(bot)
        eventually(lambda: sent(fake, "U_ENG") and sent(fake, "U_AE"))
        settle(bot)
        [to_engineer], [to_ae] = sent(fake, "U_ENG"), sent(fake, "U_AE")
        assert day(lost_at + timedelta(days=14)) in to_engineer["text"]
        assert f"<#{channel}>" in json.dumps(to_ae["blocks"])
        assert not fake.channels[channel].is_archived and archive_calls(fake) == []

        clock.shift(timedelta(days=1))
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.ARCHIVED)
        settle(bot)
        assert fake.channels[channel].is_archived
        assert len(archive_calls(fake)) == 1
        assert len(sent(fake, "U_ENG")) == 1 and len(sent(fake, "U_AE")) == 1
        assert f"archived on {day(utcnow())}" in status_text(bot)
    assert row_of(bot).state == ArchiveState.ARCHIVED


def test_zero_days_never_archives(make_bot, fake):
    bot = make_bot(archive_lost_days=0)
    channel = introduce(bot)
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=400))
        settle(bot)
    assert not fake.channels[channel].is_archived and archive_calls(fake) == []
    assert sent(fake, "U_ENG") == [] and sent(fake, "U_AE") == []
    assert "archived" not in status_text(bot)


def test_a_notice_whose_answer_was_lost_is_found_again_by_the_next_worker(bot, fake, settings):
    """Slack posted the engineer's DM but the answer never came: the worker gives its
    claim back; the one after it (a restart: another owner) finds the DM, sends the AE's."""
    introduce(bot)
    assert bot.runtime.worker is not None
    bot.runtime.worker.stop()  # only the two workers of the test run the task
    first = ChannelArchives(bot.engine, make_client(settings), settings, owner="node-a")
    second = ChannelArchives(bot.engine, make_client(settings), settings, owner="node-b")
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=13, minutes=1))
        fake.drop_next("chat.postMessage", after_effect=True)
        assert first() == 0
        assert len(sent(fake, "U_ENG")) == 1 and sent(fake, "U_AE") == []
        assert second() == 1
        assert first() == 0 and second() == 0
    assert len(sent(fake, "U_ENG")) == 1 and len(sent(fake, "U_AE")) == 1


def test_two_workers_at_once_archive_once_and_a_killed_workers_claim_is_taken_over(
    bot, fake, settings
):
    channel = introduce(bot)
    assert bot.runtime.worker is not None
    bot.runtime.worker.stop()
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=13, minutes=1))
        ChannelArchives(bot.engine, make_client(settings), settings, owner="node-a")()
        clock.shift(timedelta(days=1, minutes=1))
        now = utcnow()
        with Session(bot.engine) as session:  # a worker claimed the archive, then was killed
            beat(session, node_id="dead", host="h", pid=1, now=now - timedelta(minutes=5))
            row = session.exec(select(ChannelArchive)).one()
            assert archives.claim(session, archive_id=row.id, action=archives.ARCHIVE,
                                  owner="dead/1", now=now, lease_seconds=3600,
                                  notice_before=now) is not None  # fmt: skip
            session.commit()
        workers = [
            ChannelArchives(bot.engine, make_client(settings), settings, owner=f"node-{n}")
            for n in "bc"
        ]
        done: list[int] = []
        threads = [threading.Thread(target=lambda w=w: done.append(w())) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(done) == [0, 1]
    assert len(fake.calls_to("conversations.archive")) == 1 and fake.channels[channel].is_archived
    assert row_of(bot).state == ArchiveState.ARCHIVED


def test_a_reopened_deal_gets_the_same_channel_back_and_never_a_second(bot, fake):
    channel = introduce(bot)
    with from_now() as clock:
        archive_now(bot, fake, clock)
        assert fake.channels[channel].is_archived
        lose(bot, "Contract Sent")  # back to a pre-close stage
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.BY_HAND)
        settle(bot)
        # Slack refuses a bot token: the engineer and AE are told how, once each
        assert [c.error for c in fake.calls_to("conversations.unarchive")] == ["not_in_channel"]
        [how], [how_ae] = sent(fake, "U_ENG", BY_HAND_KIND), sent(fake, "U_AE", BY_HAND_KIND)
        assert "Unarchive channel" in json.dumps(how["blocks"])
        assert f"<#{channel}>" in json.dumps(how_ae["blocks"])
        assert "unarchive <#" in status_text(bot) and row_of(bot).state == ArchiveState.BY_HAND
        bot.command("now D-1")
        bot.wait_idle()
        assert len(fake.calls_to("conversations.create")) == 1
        with Session(bot.engine) as session:
            assert session.exec(select(Introduction)).one().channel_id == channel
        fake.unarchive_as_person(channel, "U_AE")  # the bot sees it within 15 minutes
        clock.shift(timedelta(minutes=16))
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.UNARCHIVED)
    assert "archived" not in status_text(bot)
    assert {"U_ENG", "U_BACKUP", "U_AE"} <= fake.channels[channel].members


def test_a_public_channel_unarchived_by_hand_gets_the_bot_and_the_team_back(make_bot, fake):
    """Slack does not restore a public channel's members: the bot joins, invites them."""
    bot = make_bot(channel_private=False)
    channel = introduce(bot)
    with from_now() as clock:
        archive_now(bot, fake, clock)
        lose(bot, "Closed Won")
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.BY_HAND)
        fake.unarchive_as_person(channel, "U_ENG")
        clock.shift(timedelta(minutes=16))
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.UNARCHIVED)
    assert fake.channels[channel].members == {"U_CAREBOT", "U_ENG", "U_BACKUP", "U_AE"}
    assert len(fake.calls_to("conversations.create")) == 1


def test_where_slack_lets_the_bot_unarchive_it_does(bot, fake):
    fake.bots_may_unarchive = True
    channel = introduce(bot)
    with from_now() as clock:
        archive_now(bot, fake, clock)
        lose(bot, "Closed Won")
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.UNARCHIVED)
    assert not fake.channels[channel].is_archived
    assert row_of(bot).state == ArchiveState.UNARCHIVED
    assert sent(fake, "U_ENG", BY_HAND_KIND) == [] and "archived" not in status_text(bot)
    assert len(fake.calls_to("conversations.create")) == 1


def test_a_reopen_before_the_archive_cancels_it_and_a_new_loss_starts_again(bot, fake):
    channel = introduce(bot)
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=13, minutes=1))
        settle(bot)
        eventually(lambda: len(sent(fake, "U_ENG")) == 1)
        lose(bot, "Negotiation/Review")
        clock.shift(timedelta(days=30))
        settle(bot)
        assert not fake.channels[channel].is_archived and archive_calls(fake) == []
        assert row_of(bot).state == ArchiveState.CANCELLED
        assert "archived" not in status_text(bot)

        lose(bot)  # lost again: told again (a new loss), archived 14 days after it
        clock.shift(timedelta(days=13, minutes=1))
        settle(bot)
        eventually(lambda: len(sent(fake, "U_ENG")) == 2)
        clock.shift(timedelta(days=1, minutes=1))
        settle(bot)
        eventually(lambda: row_of(bot).state == ArchiveState.ARCHIVED)
        settle(bot)
    assert fake.channels[channel].is_archived and len(archive_calls(fake)) == 1


def test_a_reopen_before_the_notice_means_nobody_is_told_and_nothing_archived(bot, fake):
    channel = introduce(bot)
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=2))
        lose(bot, "Qualified To Buy")  # an open stage
        clock.shift(timedelta(days=20))
        settle(bot)
        settle(bot)
    assert sent(fake, "U_ENG") == [] and sent(fake, "U_AE") == []
    assert not fake.channels[channel].is_archived and archive_calls(fake) == []


def test_a_lost_deal_without_a_channel_schedules_nothing(session, settings, fake):
    """Lost before its introduction started: the introduction is cancelled, no archive."""
    deal = upsert_deal(session, crm_id="D-9", company="Acme Corp", watched=True)
    stages.record_stage(session, deal=deal, label="Contract Sent", source="slash",
                        settings=settings)  # fmt: skip
    stages.record_stage(session, deal=deal, label="Closed Lost", source="slash",
                        settings=settings)  # fmt: skip
    session.commit()
    intro = session.exec(select(Introduction)).one()
    assert intro.status == IntroStatus.CANCELLED
    assert archives.archive_of(session, intro_id=intro.id) is None


def test_the_crms_own_lost_word_schedules_the_archive(session, settings, fake):
    """HubSpot's closed-lost under a custom label is lost by the rules: the same path."""
    deal = upsert_deal(session, crm_id="D-9", company="Acme Corp", watched=True)
    stages.record_stage(session, deal=deal, label="Contract Sent", source="slash",
                        settings=settings)  # fmt: skip
    intro = session.exec(select(Introduction)).one()
    intro.status, intro.channel_id = IntroStatus.DONE, "C_CARE"
    session.add(intro)
    stages.record_stage(session, deal=deal, label="Went elsewhere", stage_id="9", status="lost",
                        source="hubspot", settings=settings)  # fmt: skip
    session.commit()
    row = archives.archive_of(session, intro_id=intro.id)
    assert row is not None and row.state == ArchiveState.LOST and row.round == 1
    stages.record_stage(session, deal=deal, label="Went elsewhere", stage_id="9", status="open",
                        source="hubspot", settings=settings)  # fmt: skip
    session.commit()
    session.refresh(row)
    assert row.state == ArchiveState.CANCELLED


def test_a_deal_that_reopens_while_slack_archives_gets_its_channel_back(bot, fake, settings):
    """The reopen lands while the archive call is under way (Slack has archived it, its
    answer is not back yet): the channel is then to be unarchived, not left archived."""
    channel = introduce(bot)
    assert bot.runtime.worker is not None
    bot.runtime.worker.stop()
    worker = ChannelArchives(bot.engine, make_client(settings), settings, owner="node-a")
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=13, minutes=1))
        worker()
        clock.shift(timedelta(days=1, minutes=1))
        answered = fake.hang("conversations.archive", after_effect=True)
        thread = threading.Thread(target=worker)
        thread.start()
        eventually(lambda: fake.channels[channel].is_archived)
        lose(bot, "Contract Sent")
        answered.set()
        thread.join(timeout=30)
        assert row_of(bot).state == ArchiveState.REOPENED
        worker()
    assert row_of(bot).state == ArchiveState.BY_HAND
    assert len(sent(fake, "U_AE", BY_HAND_KIND)) == 1


def test_a_restart_between_the_notice_and_the_archive_tells_nobody_twice(bot, fake, settings):
    channel = introduce(bot)
    with from_now() as clock:
        lose(bot)
        clock.shift(timedelta(days=13, minutes=1))
        settle(bot)
        eventually(lambda: row_of(bot).notice_sent_at is not None)
        stop_bot(bot)
        again = start_bot(settings, fake)
        try:
            clock.shift(timedelta(days=1, minutes=1))
            settle(again)
            eventually(lambda: row_of(again).state == ArchiveState.ARCHIVED)
            settle(again)
        finally:
            stop_bot(again)
    assert len(sent(fake, "U_ENG")) == 1 and len(sent(fake, "U_AE")) == 1
    assert len(archive_calls(fake)) == 1 and fake.channels[channel].is_archived
