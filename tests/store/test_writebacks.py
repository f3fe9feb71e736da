"""The write-back outbox: queued once, leased to one worker, fenced, retried, given up."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.models import CrmWriteback, utcnow
from bot.store import writebacks
from bot.store.introductions import request_introduction
from tests.factories import make_deal


def queued(engine, session: Session) -> int:
    deal = make_deal(engine, "4242", source="hubspot")
    intro, _ = request_introduction(session, deal=session.merge(deal), source="now",
                                    requested_by="U_AE")  # fmt: skip
    assert writebacks.queue_writeback(
        session, introduction_id=intro.id, crm="hubspot", crm_deal_id="4242", now=utcnow()
    )
    assert not writebacks.queue_writeback(
        session, introduction_id=intro.id, crm="hubspot", crm_deal_id="4242", now=utcnow()
    )
    session.commit()
    [row_id] = writebacks.due_writebacks(session, now=utcnow(), limit=10)
    assert row_id is not None
    return row_id


def test_one_worker_holds_the_lease_and_a_dead_ones_runs_out(engine, session):
    row_id = queued(engine, session)
    now = utcnow()
    first = writebacks.claim_writeback(session, writeback_id=row_id, owner="w1", now=now,
                                       lease_seconds=30)  # fmt: skip
    assert first is not None and first.attempts == 1
    assert writebacks.claim_writeback(session, writeback_id=row_id, owner="w2", now=now,
                                      lease_seconds=30) is None  # fmt: skip
    later = now + timedelta(seconds=31)
    second = writebacks.claim_writeback(session, writeback_id=row_id, owner="w2", now=later,
                                        lease_seconds=30)  # fmt: skip
    assert second is not None and second.attempts == 2  # a resumed attempt
    assert not writebacks.settle_done(session, writeback_id=row_id, owner="w1",
                                      external_id="1", now=later)  # fmt: skip
    assert writebacks.settle_done(session, writeback_id=row_id, owner="w2",
                                  external_id="99", now=later)  # fmt: skip
    session.commit()
    row = session.get(CrmWriteback, row_id, populate_existing=True)
    assert row is not None and (row.state, row.external_id, row.lease_owner) == ("done", "99", None)
    assert writebacks.due_writebacks(session, now=later, limit=10) == []


def test_a_retry_waits_longer_each_time_then_gives_up(engine, session):
    row_id = queued(engine, session)
    now = utcnow()
    for attempt in range(1, writebacks.MAX_ATTEMPTS + 1):
        row = writebacks.claim_writeback(session, writeback_id=row_id, owner="w", now=now,
                                         lease_seconds=30)  # fmt: skip
        assert row is not None and row.attempts == attempt
        state = writebacks.retry_later(
            session, writeback_id=row_id, owner="w", attempts=row.attempts, error="HTTP 503",
            now=now,
        )  # fmt: skip
        row = session.get(CrmWriteback, row_id, populate_existing=True)
        assert row is not None
        if attempt < writebacks.MAX_ATTEMPTS:
            assert state == "pending"
            assert row.next_attempt_at is not None
            wait = (row.next_attempt_at - now).total_seconds()
            assert round(wait) == min(30 * 2 ** (attempt - 1), writebacks.MAX_RETRY_SECONDS)
            now = row.next_attempt_at
    assert (state, row.state, row.last_error) == ("failed", "failed", "HTTP 503")


def test_a_pause_is_not_counted(engine, session):
    row_id = queued(engine, session)
    now = utcnow()
    assert writebacks.claim_writeback(session, writeback_id=row_id, owner="w", now=now,
                                      lease_seconds=30)  # fmt: skip
    writebacks.pause(session, writeback_id=row_id, owner="w", until=now + timedelta(seconds=60),
                     reason="HubSpot refused the access token")  # fmt: skip
    row = session.get(CrmWriteback, row_id, populate_existing=True)
    assert row is not None and (row.state, row.attempts, row.lease_owner) == ("pending", 0, None)
    assert writebacks.due_writebacks(session, now=now, limit=10) == []
    assert writebacks.due_writebacks(session, now=now + timedelta(seconds=61), limit=10) == [row_id]
