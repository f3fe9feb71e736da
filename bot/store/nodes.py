"""Worker processes and their heartbeats: who is alive, and when a worker last ran.

A node is one worker process (`bot.worker.Worker`), named by its lease owner string;
the leases of its threads are that name followed by `/1`, `/2`… A node writes its
heartbeat every `HEARTBEAT_SECONDS`; one silent for `SILENT_SECONDS` is taken for dead,
and every claim it held is free (`bot.store.claims.lease_free`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_
from sqlmodel import Session, col, select

from bot.models import WorkerNode

HEARTBEAT_SECONDS = 2.0
# Four beats missed: dead. Rescue within ~SILENT + a poll of the kill, well under the
# SPEC's 15 s; long enough that a loaded host or a slow commit is not taken for a death.
SILENT_SECONDS = 8.0
FORGET_AFTER = timedelta(days=7)  # a node row kept this long after its last beat
# A node sure of being alive: its last beat began within this (a beat's margin before
# the others may take it for dead).
FRESH_SECONDS = SILENT_SECONDS - HEARTBEAT_SECONDS


def beat(session: Session, *, node_id: str, host: str, pid: int, now: datetime) -> None:
    """Say this process is alive (registering it the first time)."""
    node = session.get(WorkerNode, node_id)
    if node is None:
        node = WorkerNode(id=node_id, host=host, pid=pid, started_at=now, heartbeat_at=now)
    node.heartbeat_at = now
    session.add(node)


def forget_old_nodes(session: Session, *, now: datetime) -> int:
    """Drop the rows of nodes gone for a week (one per restart otherwise piles up)."""
    gone = delete(WorkerNode).where(col(WorkerNode.heartbeat_at) < now - FORGET_AFTER)
    return int(session.execute(gone).rowcount)  # type: ignore[attr-defined]


def last_heartbeat(session: Session) -> datetime | None:
    """When any worker last said it was alive (for /healthz)."""
    return session.exec(select(func.max(WorkerNode.heartbeat_at))).one()


def silent_owner(owner: ColumnElement[str | None], *, now: datetime) -> ColumnElement[bool]:
    """True for a lease owner whose node is registered and has gone silent.

    The owner is the node's name, or it followed by "/" and a thread number: matched
    exactly with `substr` (LIKE would read `_` and `%` in a host name as wildcards).
    An owner with no node row (a `remind` run, a test's worker) is never silent: its
    lease alone decides.
    """
    node = col(WorkerNode.id)
    return (
        select(WorkerNode.id)
        .where(col(WorkerNode.heartbeat_at) < now - timedelta(seconds=SILENT_SECONDS))
        .where(or_(owner == node, func.substr(owner, 1, func.length(node) + 1) == node + "/"))
        .exists()
    )
