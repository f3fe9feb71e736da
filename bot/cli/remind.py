"""`careintro remind [--dry-run]`: this week's reminders now, without waiting for the slots."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.flows.reminders.delivery import Outcome, collect, send_due
from bot.models import utcnow
from bot.templating import terminal_phrase

SHOWN_NAMES = 10


def remind_now(settings: Settings, *, dry_run: bool) -> list[str]:
    """The lines to print. The dry run reads cached timezones only (UTC when unknown),
    calls no Slack method and writes nothing, so it needs no token and uses up nobody's
    week."""
    from bot.db import make_engine, migrate_if_sqlite
    from bot.slack.client import make_client

    migrate_if_sqlite(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if dry_run:
            return _dry_run(engine, settings)
        outcome = send_due(engine, settings=settings, client=make_client(settings), force=True)
    finally:
        engine.dispose()
    return _sent(outcome)


def _dry_run(engine: Engine, settings: Settings) -> list[str]:
    """Each message as text under its recipient, then what the run would do."""
    from bot.plain_text import blocks_to_text

    with Session(engine) as session:
        plan = collect(session, now=utcnow(), settings=settings, force=True)
    lines = []
    for r in plan.reminders:
        lines += [
            terminal_phrase("reminders.cli.dry_run_to", user=r.user_id, week=r.week, tz=r.tz),
            blocks_to_text(r.message.blocks),
        ]
    lines.append(terminal_phrase("reminders.cli.dry_run_total", n=len(plan.reminders)))
    return lines + _others(plan.already, plan.busy)


def _sent(outcome: Outcome) -> list[str]:
    lines = []
    if outcome.sent:
        weeks = sorted(outcome.weeks)
        lines.append(terminal_phrase("reminders.cli.sent", n=len(outcome.sent), weeks=weeks))
    elif outcome.already:
        lines.append(terminal_phrase("reminders.cli.all_sent_before"))
    if outcome.failed:
        lines.append(terminal_phrase("reminders.cli.failed", n=len(outcome.failed)))
    lines += _others(outcome.already, outcome.busy)
    return lines or [terminal_phrase("reminders.cli.nobody")]


def _others(already: list[str], busy: list[str]) -> list[str]:
    """Who got nothing now and why: had theirs this week, or someone else is sending it."""
    lines = []
    if already:
        shown = already[:SHOWN_NAMES]
        more = len(already) > SHOWN_NAMES
        lines.append(
            terminal_phrase("reminders.cli.already", n=len(already), users=shown, more=more)
        )
    if busy:
        lines.append(terminal_phrase("reminders.cli.busy", n=len(busy)))
    return lines
