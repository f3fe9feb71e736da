"""Writes shared by the flows, on a real database."""

from __future__ import annotations

from sqlmodel import Session

from bot import crud
from bot.models import Introduction, IntroStatus
from tests.factories import make_deal


def test_update_row_changes_one_row_only_while_its_conditions_hold(engine):
    deal = make_deal(engine)
    with Session(engine) as session:
        mine = Introduction(deal_id=deal.id, status=IntroStatus.RUNNING, lease_owner="me")
        session.add(mine)
        session.commit()
        intro_id = mine.id
    with Session(engine) as session:
        assert crud.update_row(session, Introduction, intro_id, where={"lease_owner": "you"},
                               status=IntroStatus.DONE) == 0  # fmt: skip
        assert crud.update_row(session, Introduction, intro_id, where={"lease_owner": "me"},
                               status=IntroStatus.DONE, lease_owner=None) == 1  # fmt: skip
        assert crud.update_row(session, Introduction, 9999, welcome_ts="1.2") == 0
        session.commit()
    with Session(engine) as session:
        intro = session.get(Introduction, intro_id)
        assert intro is not None
        assert (intro.status, intro.lease_owner, intro.welcome_ts) == ("done", None, None)
