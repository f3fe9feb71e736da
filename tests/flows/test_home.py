"""The App Home: per-person lists and team figures, on a seeded set with known percentiles."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import Session

from bot.flows.home import home_view, percentile
from bot.models import (
    Contact,
    Introduction,
    IntroStatus,
    InviteState,
    ResponseClock,
    StageChange,
    utcnow,
)
from tests.factories import make_deal
from tests.flows.test_events import deliver, introduce

# Answered within the window, in seconds: nearest-rank p50 = 5th value, p90 = 9th value.
ANSWERED = [600, 60, 540, 120, 480, 180, 420, 240, 360, 300]  # p50 300 s, p90 540 s
# Won deals in the window: (days introduced before the close, late); None: never introduced.
WON = [(3, False), (10, False), (20, False), (1, True), (None, False)]


def seed(engine) -> None:
    """Three of five won deals introduced before the close, 3, 10 and 20 days before."""
    now = utcnow()
    acme = make_deal(
        engine,
        "D-1",
        company="Acme Corp",
        stage="contractsent",
        stage_label="Contract Sent",
        close_date=date.today() + timedelta(days=12),
    )
    make_deal(engine, "D-2", company="Watched Only", registered_by="U_AE", watched=True)
    won_deals = [
        make_deal(engine, f"W-{n}", company=f"Won {n}", registered_by="U_OTHER")
        for n in range(len(WON))
    ]
    old = make_deal(engine, "W-old", registered_by="U_OTHER")
    with Session(engine) as session:
        intro = Introduction(
            deal_id=acme.id,
            status=IntroStatus.DONE,
            channel_id="C_ACME",
            engineer_user_id="U_ENG",
            backup_user_id="U_BACKUP",
            ae_user_id="U_AE",
            finished_at=now - timedelta(days=5),
        )
        session.add(intro)
        session.add(
            Contact(deal_id=acme.id, email="cto@acme.example", invite_state=InviteState.ACCEPTED)
        )
        session.add(
            Contact(deal_id=acme.id, email="cfo@acme.example", invite_state=InviteState.SENT)
        )
        session.flush()
        for n, seconds in enumerate(ANSWERED):
            started = now - timedelta(days=1, minutes=n)
            session.add(
                ResponseClock(
                    introduction_id=intro.id,
                    channel_id="C_ACME",
                    message_ts=f"1.{n}",
                    started_at=started,
                    answered_at=started + timedelta(seconds=seconds),
                    response_seconds=seconds,
                )
            )
        session.add(
            ResponseClock(
                introduction_id=intro.id,
                channel_id="C_ACME",
                message_ts="2.0",
                started_at=now - timedelta(days=40),
                response_seconds=99999,
                answered_at=now - timedelta(days=39),
            )
        )
        session.add(
            ResponseClock(
                introduction_id=intro.id,
                channel_id="C_ACME",
                message_ts="3.0",
                started_at=now - timedelta(minutes=12),
            )
        )
        for deal, (lead, late) in zip(won_deals, WON, strict=True):
            won_at = now - timedelta(days=2)
            if lead is not None:
                session.add(
                    Introduction(
                        deal_id=deal.id,
                        status=IntroStatus.DONE,
                        late=late,
                        engineer_user_id="U_FORMER",
                        finished_at=won_at - timedelta(days=lead, hours=1),
                    )
                )
            session.add(
                StageChange(deal_id=deal.id, to_stage="closedwon", source="crm", recorded_at=won_at)
            )
        session.add(
            StageChange(
                deal_id=old.id,
                to_stage="closedwon",
                source="crm",
                recorded_at=now - timedelta(days=45),
            )
        )
        session.commit()


def home_text(fake, user_id: str) -> str:
    return json.dumps(fake.views_published[user_id]["blocks"], ensure_ascii=False)


def opened(bot, user_id: str) -> str:
    deliver(bot, {"type": "app_home_opened", "user": user_id, "channel": "D_X", "tab": "home"})
    assert bot.fake.views_published[user_id]["type"] == "home"
    return home_text(bot.fake, user_id)


TEAM_LINE = "median *5.0 min*, 90th percentile *9.0 min* (10 answered) · 1 still waiting"
WON_LINE = "*60%* (3 of 5), a median *10 days* before"


def test_engineer_sees_their_prospects_and_the_team_figures(bot):
    seed(bot.engine)
    home = opened(bot, "U_ENG")
    assert "*Your prospects*" in home
    assert "<#C_ACME> *Acme Corp* · Contract Sent · 12 days to close" in home
    assert "invitations: 1 accepted, 1 sent" in home
    assert "*1 question waiting* (oldest 12 min)" in home
    assert "Watched Only" not in home
    assert TEAM_LINE in home and WON_LINE in home


def test_ae_sees_their_watched_deals(bot):
    seed(bot.engine)
    home = opened(bot, "U_AE")
    assert "*Your watched deals*" in home and "*Your prospects*" not in home
    assert "*Acme Corp* (D-1) · Contract Sent · introduced · engineer <@U_ENG>" in home
    assert "*Watched Only* (D-2) · no stage · not introduced · engineer not picked yet" in home
    assert TEAM_LINE in home


def test_someone_with_nothing_sees_only_the_team(bot):
    seed(bot.engine)
    home = opened(bot, "U_ENG2")
    assert "Nothing of yours yet" in home
    assert "Your prospects" not in home and "Your watched deals" not in home
    assert TEAM_LINE in home and WON_LINE in home


def test_an_empty_team_has_no_figures_yet(bot):
    home = opened(bot, "U_ENG")
    assert "no answered questions yet" in home and "no won deals yet" in home


def add_prospects(engine, start: int, stop: int) -> None:
    """Open introductions for U_ENG, each with two contacts and `n % 3` questions waiting."""
    now = utcnow()
    for n in range(start, stop):
        deal = make_deal(engine, f"P-{n}", company=f"Prospect {n}")
        with Session(engine) as session:
            intro = Introduction(
                deal_id=deal.id, status=IntroStatus.DONE, channel_id=f"C_P{n}",
                engineer_user_id="U_ENG", finished_at=now,
            )  # fmt: skip
            session.add(intro)
            session.add(Contact(deal_id=deal.id, email=f"a@p{n}.example", invite_state="sent"))
            session.add(Contact(deal_id=deal.id, email=f"b@p{n}.example", invite_state="sent"))
            session.flush()
            for q in range(n % 3):
                session.add(
                    ResponseClock(
                        introduction_id=intro.id, channel_id=f"C_P{n}", message_ts=f"{n}.{q}",
                        started_at=now - timedelta(minutes=5 * (q + 1)),
                    )
                )  # fmt: skip
            session.commit()


def test_a_home_issues_the_same_statements_for_one_prospect_and_twenty(engine, settings):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts, texts = [], []
    for start, stop in ((0, 1), (1, 20)):
        add_prospects(engine, start, stop)
        statements.clear()
        with Session(engine) as session:
            view = home_view(session, user_id="U_ENG", settings=settings)
        counts.append(len(statements))
        texts.append(json.dumps(view["blocks"]))
    assert counts[0] == counts[1], statements
    assert "*Prospect 19*" in texts[1] and "invitations: 2 sent" in texts[1]
    assert texts[1].count("*2 questions waiting* (oldest 10 min)") == 6  # n % 3 == 2
    assert texts[1].count("*1 question waiting* (oldest 5 min)") == 7


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert percentile(ANSWERED, 50) == 300 and percentile(ANSWERED, 90) == 540
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 75) == 3


@given(st.lists(st.integers(0, 10**6), min_size=1), st.floats(1, 100))
def test_percentile_is_a_value_with_enough_below_it(values, p):
    found = percentile(values, p)
    assert found in values
    assert sum(v <= found for v in values) >= p / 100 * len(values) - 1e-9
    assert sum(v < found for v in values) < p / 100 * len(values)


def test_homes_are_refreshed_when_an_introduction_is_done(bot, fake):
    introduce(bot)
    deadline = time.monotonic() + 5  # published right after the introduction is marked done
    while not {"U_ENG", "U_BACKUP", "U_AE"} <= set(fake.views_published):
        assert time.monotonic() < deadline, set(fake.views_published)
        time.sleep(0.02)
    assert "*Acme Corp* · no stage" in home_text(fake, "U_ENG")
    assert "(D-1) · no stage · introduced · engineer <@U_ENG>" in home_text(fake, "U_AE")


def test_a_batch_of_introductions_publishes_each_home_a_few_times_not_once_each(bot, fake):
    """Homes touched by finished introductions are debounced: in a batch, the engineer's
    Home is published when the first finishes and when the batch is done, not six times."""
    from tests.factories import make_member

    make_member(bot.engine, "U_ENG", backup="U_BACKUP")
    for n in range(6):
        status, _ = bot.command(f"now D-{n} Company {n} <@U_ENG> cto@c{n}.example")
        assert status == 200
    intros = bot.wait_idle(timeout=60)
    assert [i.status for i in intros] == [IntroStatus.DONE] * 6
    deadline = time.monotonic() + 5
    while not all(f"Company {n}" in home_text(fake, "U_ENG") for n in range(6)):
        assert time.monotonic() < deadline, home_text(fake, "U_ENG")
        time.sleep(0.02)
    published = [c for c in fake.calls_to("views.publish") if c.args.get("user_id") == "U_ENG"]
    assert 1 <= len(published) <= 3, len(published)
