"""Worker processes and their heartbeats: who is alive, and when a worker last ran."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot.models import WorkerNode


def beat(session: Session, *, node_id: str, host: str, pid: int, now: datetime) -> None:
    """Say this process is alive (registering it the first time)."""
    node = session.get(WorkerNode, node_id)
    if node is None:
        node = WorkerNode(id=node_id, host=host, pid=pid, started_at=now, heartbeat_at=now)
    node.heartbeat_at = now
    session.add(node)


def last_heartbeat(session: Session) -> datetime | None:
    """When any worker last said it was alive (for /healthz)."""
    return session.exec(select(func.max(WorkerNode.heartbeat_at))).one()
