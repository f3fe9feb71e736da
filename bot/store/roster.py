"""The care roster the engineer of an introduction is picked from."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from bot.models import CareMember


def add_member(
    session: Session, *, user_id: str, backup_id: str | None, added_by: str | None
) -> tuple[CareMember, bool]:
    member = session.exec(select(CareMember).where(CareMember.user_id == user_id)).first()
    created = member is None
    if member is None:
        member = CareMember(user_id=user_id, added_by=added_by)
    member.backup_user_id = backup_id or member.backup_user_id
    member.active = True
    session.add(member)
    session.flush()
    return member, created


def remove_member(session: Session, *, user_id: str) -> bool:
    member = session.exec(select(CareMember).where(CareMember.user_id == user_id)).first()
    if member is None or not member.active:
        return False
    member.active = False
    session.add(member)
    session.flush()
    return True


def active_members(session: Session) -> Sequence[CareMember]:
    return session.exec(select(CareMember).where(CareMember.active).order_by(CareMember.id)).all()


def active_member(session: Session, *, user_id: str) -> CareMember | None:
    return session.exec(
        select(CareMember).where(CareMember.user_id == user_id, CareMember.active)
    ).first()
