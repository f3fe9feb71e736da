"""A connector's state: a failure and a recovery are each reported once, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import connectors

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_failure_starts_once_and_ends_once(session):
    assert connectors.record_ok(session, name="hubspot", now=T0) is False  # first run: fine
    first = connectors.record_failure(session, name="hubspot", reason="401", now=T0)
    again = connectors.record_failure(
        session, name="hubspot", reason="401", now=T0 + timedelta(minutes=1)
    )
    session.commit()
    assert (first, again) == (True, False)
    (row,) = connectors.failing(session)
    assert (row.name, row.reason, row.since) == ("hubspot", "401", T0)
    assert connectors.record_ok(session, name="hubspot", now=T0 + timedelta(minutes=2)) is True
    assert connectors.record_ok(session, name="hubspot", now=T0 + timedelta(minutes=3)) is False
    session.commit()
    assert connectors.failing(session) == []
    assert [c.state for c in connectors.states(session)] == ["ok"]


def test_the_poll_starts_when_the_connector_was_first_enabled(session):
    row = connectors.connector(session, name="hubspot", now=T0)
    connectors.set_cursor(session, name="hubspot", cursor="1764579600000", now=T0)
    session.commit()
    later = connectors.connector(session, name="hubspot", now=T0 + timedelta(days=1))
    assert (later.enabled_at, later.cursor) == (row.enabled_at, "1764579600000")
    assert later.enabled_at == T0
