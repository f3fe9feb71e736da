"""Weekly reminder DMs: each person's own 09:00, once a week whatever runs, and what they say."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import event
from sqlmodel import Session, select

from bot.__main__ import main
from bot.flows import reminders
from bot.ids import ActionId
from bot.models import (
    Contact,
    Deal,
    Introduction,
    IntroStatus,
    InviteState,
    Person,
    ReminderSent,
    ResponseClock,
    utcnow,
)
from bot.slack.client import make_client
from tests.factories import make_deal, make_member

BERLIN, LA = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")


def local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


# The tests' Monday is the next one; their rows date from the Saturday before it, so
# nobody is owed the week before (a late worker would rightly send that one).
MONDAY = date.today() + timedelta(days=7 - date.today().weekday())
BEFORE = local(MONDAY - timedelta(days=2), 12, 0, ZoneInfo("UTC"))


def introduced(
    engine,
    crm_id: str,
    engineer: str,
    *,
    ae: str = "U_AE",
    close_date: date | None = None,
    stage: str = "contractsent",
    **intro_fields,
) -> Introduction:
    """A deal whose introduction is done: `engineer` owns the prospect, `ae` sold it."""
    deal = make_deal(
        engine,
        crm_id,
        company=intro_fields.pop("company", "Acme Corp"),
        stage=stage,
        stage_label=stage.title(),
        close_date=close_date,
        registered_by=ae,
        created_at=BEFORE,
        contacts=intro_fields.pop("contacts", ()),
    )
    with Session(engine, expire_on_commit=False) as session:
        intro = Introduction(
            deal_id=deal.id,
            status=IntroStatus.DONE,
            engineer_user_id=engineer,
            ae_user_id=ae,
            channel_id=f"C_{crm_id.replace('-', '')}",
            finished_at=BEFORE,
            **intro_fields,
        )
        session.add(intro)
        session.commit()
        return intro


def sent_rows(engine) -> list[ReminderSent]:
    with Session(engine) as session:
        return list(session.exec(select(ReminderSent).order_by(ReminderSent.user_id)))


def dm_text(fake, user_id: str) -> str:
    return "\n".join(json.dumps(m.get("blocks")) + m["text"] for m in fake.dm_messages(user_id))


def send(engine, settings, **kwargs) -> reminders.Outcome:
    return reminders.send_due(engine, settings=settings, client=make_client(settings), **kwargs)


# --- 1. each person's own 09:00 ------------------------------------------------------


def test_engineers_get_their_monday_reminder_at_their_own_0900(engine, settings, fake):
    fake.add_user("U_BER", name="bea", tz="Europe/Berlin")
    fake.add_user("U_LA", name="lee", tz="America/Los_Angeles")
    introduced(engine, "D-1", "U_BER")
    introduced(engine, "D-2", "U_LA")
    monday = MONDAY

    steps = [
        (local(monday, 8, 59, BERLIN), set()),
        (local(monday, 9, 0, BERLIN), {"U_BER"}),
        (local(monday, 9, 0, ZoneInfo("UTC")), {"U_BER"}),  # the server's 09:00: nobody new
        (local(monday, 8, 59, LA), {"U_BER"}),
        (local(monday, 9, 0, LA), {"U_BER", "U_LA"}),
        (local(monday, 23, 0, LA), {"U_BER", "U_LA"}),
    ]
    for now, expected in steps:
        with time_machine.travel(now, tick=False):
            send(engine, settings)
        assert {u for u in ("U_BER", "U_LA") if fake.dm_messages(u)} == expected, now

    assert len(fake.dm_messages("U_BER")) == len(fake.dm_messages("U_LA")) == 1
    week = reminders.week_of(monday)
    assert [(r.user_id, r.week, r.message_ts is not None) for r in sent_rows(engine)] == [
        ("U_AE", week, True),  # their AE, in Los Angeles too
        ("U_BER", week, True),
        ("U_LA", week, True),
    ]
    [message] = fake.dm_messages("U_LA")
    assert message["metadata"] == {
        "event_type": reminders.EVENT_TYPE,
        "event_payload": {"week": week},
    }


def test_timezones_are_cached_and_refreshed_after_a_day(engine, settings, fake):
    fake.add_user("U_BER", name="bea", tz="Europe/Berlin")
    introduced(engine, "D-1", "U_BER")
    monday = MONDAY
    for minutes in (0, 1, 2):
        with time_machine.travel(local(monday, 8, 50 + minutes, BERLIN), tick=False):
            send(engine, settings)
    assert lookups(fake, "U_BER") == 1
    with Session(engine) as session:
        person = session.exec(select(Person).where(Person.user_id == "U_BER")).one()
        assert person.tz == "Europe/Berlin" and person.reminders

    fake.add_user("U_BER", name="bea", tz="Asia/Tokyo")  # they moved
    with time_machine.travel(local(monday, 8, 50, BERLIN) + timedelta(days=1, hours=1)):
        send(engine, settings)
    assert lookups(fake, "U_BER") == 2
    with Session(engine) as session:
        assert session.exec(select(Person.tz).where(Person.user_id == "U_BER")).one() == (
            "Asia/Tokyo"
        )


def lookups(fake, user_id: str) -> int:
    return len([c for c in fake.calls_to("users.info") if c.args.get("user") == user_id])


# --- 2. two workers, a restart mid-send ----------------------------------------------


def test_two_workers_at_once_give_each_person_one_reminder(engine, settings, fake):
    people = [f"U_P{n:02d}" for n in range(12)]
    for n in range(3):
        fake.add_user(f"U_AE{n}", tz="Asia/Kolkata")
    for n, user in enumerate(people):
        fake.add_user(user, tz="Europe/Berlin" if n % 2 else "America/New_York")
        introduced(engine, f"D-{n}", user, ae=f"U_AE{n % 3}")
    start = threading.Barrier(2)
    outcomes: list[reminders.Outcome] = []

    def worker() -> None:
        start.wait()
        outcomes.append(send(engine, settings))

    with time_machine.travel(local(MONDAY, 20, 0, ZoneInfo("UTC"))):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        send(engine, settings)  # and a late third one

    everyone = [*people, "U_AE0", "U_AE1", "U_AE2"]
    assert all(len(fake.dm_messages(user)) == 1 for user in everyone)
    assert sorted(u for o in outcomes for u in o.sent) == sorted(everyone)
    assert [r.user_id for r in sent_rows(engine)] == sorted(everyone)
    assert all(r.sent_at for r in sent_rows(engine))


def test_send_cut_off_after_posting_is_finished_without_a_second_dm(engine, settings, fake):
    fake.add_user("U_BER", name="bea", tz="Europe/Berlin")
    introduced(engine, "D-1", "U_BER", ae="U_NOBODY")
    fake.add_user("U_NOBODY", tz="Europe/Berlin")
    fake.drop_next("chat.postMessage", after_effect=True)  # posted, but we never hear back
    slot = local(MONDAY, 9, 0, BERLIN)
    with time_machine.travel(slot, tick=False):
        first = send(engine, settings)
    assert sorted(first.failed + first.sent) == ["U_BER", "U_NOBODY"]
    assert len(fake.dm_messages(first.failed[0])) == 1
    [unsent] = [r for r in sent_rows(engine) if r.sent_at is None]

    with time_machine.travel(slot + timedelta(seconds=5), tick=False):  # claim still fresh
        assert send(engine, settings).busy == [unsent.user_id]
    with time_machine.travel(slot + timedelta(minutes=10), tick=False):  # a restarted worker
        again = send(engine, settings)
    assert again.sent == [unsent.user_id]
    assert len(fake.dm_messages(unsent.user_id)) == 1
    [row] = [r for r in sent_rows(engine) if r.user_id == unsent.user_id]
    assert row.sent_at and row.message_ts == fake.dm_messages(unsent.user_id)[0]["ts"]


# --- 3. `remind` ---------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, settings):
    for name, value in {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "CAREINTRO_ENV_FILE": "/dev/null",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_remind_twice_in_a_week_sends_once_and_says_so(engine, fake, cli_env, capsys):
    introduced(engine, "D-1", "U_ENG")
    assert main(["remind"]) == 0
    first = capsys.readouterr().out
    assert "Sent 2 reminders for week " in first
    posted = len(fake.calls_to("chat.postMessage"))
    assert posted == 2 and len(fake.dm_messages("U_ENG")) == len(fake.dm_messages("U_AE")) == 1

    assert main(["remind"]) == 0
    second = capsys.readouterr().out
    assert "Nothing sent" in second and "2 already had this week's reminder" in second
    assert len(fake.calls_to("chat.postMessage")) == posted


def test_remind_dry_run_prints_them_and_uses_up_nothing(engine, fake, cli_env, capsys):
    cli_env.delenv("SLACK_BOT_TOKEN")  # no Slack needed
    introduced(engine, "D-1", "U_ENG", company="Acme Corp")
    assert main(["remind", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- to U_ENG" in out and "--- to U_AE" in out and "Acme Corp" in out
    assert "nothing was recorded" in out
    assert sent_rows(engine) == []
    assert fake.calls == []

    cli_env.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert main(["remind"]) == 0
    assert "Sent 2 reminders for week " in capsys.readouterr().out


def test_remind_without_a_token_says_what_to_set(engine, cli_env, capsys):
    cli_env.delenv("SLACK_BOT_TOKEN")
    assert main(["remind"]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


# --- 4. nothing to report, reminders off ---------------------------------------------


def test_nothing_to_report_and_reminders_off_get_nothing(bot, fake, settings):
    bot.runtime.worker.stop()  # this test sends by itself
    engine = bot.engine
    introduced(engine, "D-1", "U_ENG", ae="U_AE")
    introduced(engine, "D-2", "U_ENG2", ae="U_AE", stage="closedlost")  # lost: nothing to say
    make_deal(
        engine, "D-3", registered_by="U_BACKUP", stage="closedwon", watched=True, created_at=BEFORE
    )
    status, answer = bot.command("reminders on", user="U_BACKUP")  # known, nothing to report
    assert status == 200
    status, answer = bot.command("reminders off", user="U_AE")
    assert "off" in answer["text"]

    with time_machine.travel(local(MONDAY, 20, 0, ZoneInfo("UTC")), tick=False):
        outcome = send(engine, settings)
    assert outcome.sent == ["U_ENG"]
    assert [u for u in ("U_AE", "U_ENG2", "U_BACKUP") if fake.dm_messages(u)] == []

    bot.command("reminders on", user="U_AE")
    with time_machine.travel(local(MONDAY, 21, 0, ZoneInfo("UTC")), tick=False):
        assert send(engine, settings).sent == ["U_AE"]


# --- 5. the AE digest and its button -------------------------------------------------


def block_actions(message: dict, action: dict, user: str = "U_AE") -> dict:
    return {
        "type": "block_actions",
        "team": {"id": "T_OURS"},
        "user": {"id": user},
        "api_app_id": "A1",
        "token": "t",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": message["ts"]},
        "channel": {"id": message["channel"]},
        "message": message,
        "actions": [{**action, "block_id": action.get("block_id", "b"), "action_ts": "1.2"}],
    }


def test_ae_digest_puts_the_unintroduced_deal_closing_soon_first_and_its_button_starts_it(
    bot, fake
):
    engine = bot.engine
    make_member(engine, "U_ENG", backup="U_BACKUP")
    monday = MONDAY
    make_deal(
        engine,
        "D-LATER",
        company="Later Ltd",
        watched=True,
        close_date=monday + timedelta(60),
        created_at=BEFORE,
    )
    introduced(engine, "D-DONE", "U_ENG2", company="Done Inc", close_date=monday + timedelta(5))
    make_deal(
        engine,
        "D-SOON",
        company="Soon & Co",
        watched=True,
        close_date=monday + timedelta(10),
        engineer_user_id="U_ENG",
        contacts=["cto@soon.example"],
        created_at=BEFORE,
    )

    with time_machine.travel(local(monday, 9, 1, LA)):  # U_AE's zone in the emulator
        deadline = time.monotonic() + 10
        while not fake.dm_messages("U_AE"):  # the worker's own periodic task sends it
            assert time.monotonic() < deadline, "no reminder from the worker"
            time.sleep(0.05)
        [reminder] = fake.dm_messages("U_AE")
        blocks = reminder["blocks"]
        first, actions = blocks[0], blocks[1]
        assert "*Soon &amp; Co (D-SOON) · 10 days to close" in first["text"]["text"]
        [button] = actions["elements"]
        assert actions["type"] == "actions" and button["action_id"] == ActionId.INTRODUCE_DEAL
        assert button["value"] == "D-SOON"
        rest = json.dumps(blocks[2:])
        assert "Done Inc" in rest and "<@U_ENG2>" in rest and "<#C_DDONE>" in rest
        assert "Later Ltd" in rest and "not introduced" in rest
        assert rest.index("Done Inc") < rest.index("Later Ltd")  # by close date

        message = dict(reminder, channel=_im_of(fake, "U_AE"))
        status, _ = bot.interact(block_actions(message, button))
        assert status == 200
        while not fake.ephemeral:  # recorded after the ack, then answered
            assert time.monotonic() < deadline + 10, "no answer to the button"
            time.sleep(0.05)
        intros = bot.wait_idle()
    with Session(engine) as session:
        deal = session.exec(select(Deal).where(Deal.crm_id == "D-SOON")).one()
        intro = session.exec(select(Introduction).where(Introduction.deal_id == deal.id)).one()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert intro.source == "reminder" and intro.requested_by == "U_AE"
    assert fake.channel_by_name("care-soon-co") is not None
    # mrkdwn-escaped like the DM's own text: Slack shows "Soon & Co"
    assert fake.ephemeral[0]["text"].startswith("Introducing Soon &amp; Co (D-SOON)")
    assert len(intros) == 2


def _im_of(fake, user_id: str) -> str:
    return next(c.id for c in fake.channels.values() if c.is_im and c.im_user == user_id)


# --- what the engineer's digest says -------------------------------------------------


def test_engineer_digest_says_everything_waiting_escaped_with_channel_links(engine, settings, fake):
    monday = MONDAY
    slot = local(monday, 9, 0, LA)
    intro = introduced(
        engine,
        "D-1",
        "U_ENG",
        company="A&B <Corp>",
        close_date=monday + timedelta(days=12),
        contacts=["cto@ab.example", "cfo@ab.example"],
        last_prospect_text="Can we get *SSO* <today>?",
        last_prospect_message_at=slot - timedelta(hours=3),
    )
    with Session(engine) as session:
        cto, cfo = session.exec(select(Contact).order_by(Contact.id)).all()
        cto.invite_state, cto.invited_at = InviteState.SENT, slot - timedelta(days=3)
        cfo.invite_state = InviteState.WAITING
        session.add_all([cto, cfo])
        for n, answered in ((1, None), (2, slot), (3, None)):
            session.add(
                ResponseClock(
                    introduction_id=intro.id,
                    channel_id=intro.channel_id,
                    message_ts=f"1.{n}",
                    text_preview=f"question {n} & more",
                    started_at=slot - timedelta(minutes=90),
                    answered_at=answered,
                )
            )
        session.commit()

    with time_machine.travel(slot + timedelta(minutes=1), tick=False):
        assert send(engine, settings).sent == ["U_AE", "U_ENG"]
    [message] = fake.dm_messages("U_ENG")
    text = json.dumps(message["blocks"])
    assert "A&amp;B &lt;Corp&gt;" in text and "<#C_D1>" in text
    assert "Contractsent" in text and "12 days to close" in text
    assert "cto@ab.example (sent 3 days ago)" in text and "cfo@ab.example (not sent yet)" in text
    assert "Can we get *SSO* &lt;today&gt;?" in text and "(3 h ago)" in text
    assert "question 1 &amp; more" in text and "question 3" in text
    assert "question 2" not in text  # answered
    assert "2 questions waiting" in message["text"]
    assert len(message["blocks"]) <= 50


def test_someone_both_engineer_and_ae_gets_one_dm(engine, settings, fake):
    introduced(engine, "D-1", "U_ENG", ae="U_AE")
    introduced(engine, "D-2", "U_AE", ae="U_ENG")
    with time_machine.travel(local(MONDAY, 20, 0, ZoneInfo("UTC")), tick=False):
        assert send(engine, settings).sent == ["U_AE", "U_ENG"]
    [message] = fake.dm_messages("U_ENG")
    text = json.dumps(message["blocks"])
    assert "Your prospects this week" in text and "Your deals" in text


# --- 6. one pass over the database ---------------------------------------------------


def add_people(engine, start: int, stop: int) -> None:
    """Engineer n with one introduced prospect (an invite, a question), AE n with a
    watched deal not introduced yet: 2 people per n."""
    now = utcnow()
    with Session(engine) as session:
        deals = [
            Deal(
                crm_id=f"D-{n}-{kind}",
                company=f"Co {n}",
                stage="appointmentscheduled",
                watched=kind == "w",
                registered_by=f"U_A{n}",
                close_date=date.today() + timedelta(days=30),
                created_at=now - timedelta(days=30),
            )
            for n in range(start, stop)
            for kind in ("i", "w")
        ]
        session.add_all(deals)
        session.flush()
        intros = [
            Introduction(
                deal_id=d.id,
                status=IntroStatus.DONE,
                engineer_user_id=f"U_E{n}",
                ae_user_id=f"U_A{n}",
                channel_id=f"C_{n}",
                finished_at=now - timedelta(days=30),
            )
            for n, d in zip(range(start, stop), deals[::2], strict=True)
        ]
        session.add_all(intros)
        session.flush()
        for intro in intros:
            session.add(Contact(deal_id=intro.deal_id, email=f"x{intro.id}@p.example"))
            session.add(
                ResponseClock(
                    introduction_id=intro.id,
                    channel_id=intro.channel_id,
                    message_ts=f"1.{intro.id}",
                    text_preview="when?",
                    started_at=now,
                )
            )
            session.add(
                Person(user_id=intro.engineer_user_id, tz="Europe/Berlin", tz_checked_at=now)
            )
        session.commit()


def test_building_reminders_issues_the_same_statements_for_10_and_1000_people(engine, settings):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    now = local(MONDAY, 20, 0, ZoneInfo("UTC"))
    counts = []
    for start, stop in ((0, 5), (5, 500)):  # 10 people, then 1,000
        add_people(engine, start, stop)
        statements.clear()
        with Session(engine) as session:
            plan = reminders.collect(session, now=now, settings=settings)
        counts.append(len(statements))
        assert len(plan.reminders) == 2 * stop
    assert counts[0] == counts[1] <= 9, statements  # 5 digest streams (stale invitations)
