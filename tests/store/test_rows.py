"""Writes shared by the flows, on a real database."""

from __future__ import annotations

from sqlmodel import Session

from bot.models import Introduction, IntroStatus
from bot.store.rows import update_row
from tests.factories import make_deal


def test_update_row_changes_one_row_only_while_its_conditions_hold(engine):
    deal = make_deal(engine)
    with Session(engine) as session:
        mine = Introduction(deal_id=deal.id, status=IntroStatus.RUNNING, lease_owner="me")
        session.add(mine)
        session.commit()
        intro_id = mine.id

    def update(session, row_id=intro_id, **kwargs) -> int:
        return update_row(session, Introduction, row_id, **kwargs)

    with Session(engine) as session:
        assert update(session, where={"lease_owner": "you"}, status=IntroStatus.DONE) == 0
        assert update(session, where={"lease_owner": "me"}, lease_owner=None, status="done") == 1
        assert update(session, row_id=9999, welcome_ts="1.2") == 0
        assert update(session, where={"welcome_ts": None}, channel_name="care-acme") == 1
        assert update(session, where={"lease_owner": "me"}, welcome_ts="1.2") == 0  # None now
        session.commit()
    with Session(engine) as session:
        intro = session.get(Introduction, intro_id)
        assert intro is not None
        assert (intro.status, intro.lease_owner, intro.welcome_ts) == ("done", None, None)
        assert intro.channel_name == "care-acme"
