"""Every claim follows one rule (`claims.lease_free`): free when its lease ran out or
its owner's node is silent; a live node's, or an unregistered owner's, is not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.models import Introduction, IntroStatus, ReminderSent, ResponseClock, SlackEvent, utcnow
from bot.store.claims import claim_introduction
from bot.store.nodes import SILENT_SECONDS, beat
from bot.store.reminders import free_claims, take_over_claim
from bot.store.responses import alert_sent, alerts_due, claim_alert
from bot.store.slack_events import PROCESSING, claim_event
from tests.factories import make_deal

LEASE = 300
NODE = "host_a:1:abc123"  # `_` is no wildcard: matched exactly


@pytest.fixture
def now():
    return utcnow()


def register(session: Session, node_id: str, *, silent: bool, now) -> None:
    at = now - timedelta(seconds=SILENT_SECONDS + 1 if silent else 1)
    beat(session, node_id=node_id, host="h", pid=1, now=at)
    session.commit()


def running_introduction(engine, owner: str, now) -> int:
    deal = make_deal(engine)
    with Session(engine) as session:
        intro = Introduction(
            deal_id=deal.id, status=IntroStatus.RUNNING, lease_owner=owner,
            lease_until=now + timedelta(seconds=LEASE),
        )  # fmt: skip
        session.add(intro)
        session.commit()
        assert intro.id is not None
        return intro.id


@pytest.mark.parametrize(
    ("owner", "silent", "free"),
    [
        (NODE, True, True),
        (f"{NODE}/3", True, True),  # a thread of the silent node
        (NODE, False, False),
        (f"{NODE}/3", False, False),
        ("hostXa:1:abc123/3", True, False),  # not that node's
        (f"{NODE}0/1", True, False),
    ],
)
def test_an_introduction_is_free_when_its_node_is_silent(engine, now, owner, silent, free):
    intro_id = running_introduction(engine, owner, now)
    with Session(engine) as session:
        register(session, NODE, silent=silent, now=now)
        taken = claim_introduction(session, owner="rescuer", lease_seconds=LEASE, now=now)
        session.commit()
    assert (taken == intro_id) is free


def test_an_unregistered_owner_waits_for_its_lease(engine, now):
    """A claim by a process that never beats (a `remind` run) is freed by its lease only."""
    intro_id = running_introduction(engine, "remind:host:9", now)
    with Session(engine) as session:
        assert claim_introduction(session, owner="r", lease_seconds=LEASE, now=now) is None
        later = now + timedelta(seconds=LEASE + 1)
        assert claim_introduction(session, owner="r", lease_seconds=LEASE, now=later) == intro_id


@pytest.mark.parametrize("silent", [True, False])
def test_a_slack_event_of_a_silent_node_is_taken_over(session, now, silent):
    session.add(SlackEvent(event_id="Ev1", type="message", payload="{}", processed_at=now,
                           error=PROCESSING, lease_owner=f"{NODE}"))  # fmt: skip
    register(session, NODE, silent=silent, now=now)
    row = claim_event(session, lease_seconds=LEASE, now=now, owner="rescuer")
    assert (row is not None) is silent
    if row is not None:
        assert row.lease_owner == "rescuer"


@pytest.mark.parametrize("silent", [True, False])
def test_a_reminder_claim_of_a_silent_node_is_taken_over(session, now, silent):
    claim = ReminderSent(user_id="U1", week="2026-W49", claimed_at=now, lease_owner=NODE)
    session.add(claim)
    register(session, NODE, silent=silent, now=now)
    stale_before = now - timedelta(seconds=LEASE)
    free = free_claims(session, weeks=["2026-W49"], stale_before=stale_before, now=now)
    assert (claim.id in free) is silent
    taken = take_over_claim(session, claim_id=claim.id, stale_before=stale_before, owner="r")
    assert taken is silent


@pytest.mark.parametrize("silent", [True, False])
def test_a_response_alert_of_a_silent_node_is_taken_over_until_sent(engine, now, silent):
    intro_id = running_introduction(engine, "x", now)
    with Session(engine) as session:
        clock = ResponseClock(introduction_id=intro_id, channel_id="C1", message_ts="1.1",
                              started_at=now - timedelta(hours=2))  # fmt: skip
        session.add(clock)
        session.commit()
        asked = now - timedelta(minutes=30)
        assert claim_alert(session, clock_id=clock.id, level="engineer", now=now, owner=NODE)
        register(session, NODE, silent=silent, now=now)
        assert bool(alerts_due(session, level="engineer", started_before=asked, now=now)) is silent
        taken = claim_alert(session, clock_id=clock.id, level="engineer", now=now, owner="r")
        assert taken is silent
        alert_sent(session, clock_id=clock.id, level="engineer", claimed=now)
        register(session, "r", silent=True, now=now)
        assert not alerts_due(session, level="engineer", started_before=asked, now=now)
        assert not claim_alert(session, clock_id=clock.id, level="engineer", now=now, owner="s")
