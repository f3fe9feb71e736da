"""Weekly reminder DMs: who is due, what their digest says, and one DM a week at most.

Due is a fact read from the database: the person's slot of their current ISO week
(`CARE_REMINDER_DAY` `CARE_REMINDER_TIME` in their own Slack timezone) has passed, they
had something to report by then, and no `ReminderSent` row exists for (person, week).
The claim row makes restarts, late workers, extra workers and `remind` runs add up to
one DM a week (`delivery`).

- `schedule`: zones, ISO weeks, each person's slot, who is due (`Scan`).
- `digest`: what each digest holds (Top-N prospects and deals), built from streamed rows.
- `render`: a digest as one DM, with its "Introduce now" buttons.
- `delivery`: the plan, claim → DM → settle, and the worker's `ReminderTask`.
- `button`: what pressing "Introduce now" does.

Their SQL is in `bot.store.reminders` and `bot.store.people`; the `remind` command is
`bot.cli.remind`.
"""

from bot.flows.reminders.button import introduce_from_reminder
from bot.flows.reminders.delivery import (
    EVENT_TYPE,
    Outcome,
    Plan,
    Reminder,
    ReminderTask,
    collect,
    deliver,
    plan_reminders,
    send_due,
)
from bot.flows.reminders.digest import (
    AeDeal,
    DealRow,
    Digest,
    IntroRow,
    Invite,
    Prospect,
    Question,
    build_digests,
)
from bot.flows.reminders.render import render_digest
from bot.flows.reminders.schedule import Due, Scan, load_scan, slot_of, week_of, zone

__all__ = [
    "EVENT_TYPE",
    "AeDeal",
    "DealRow",
    "Digest",
    "Due",
    "IntroRow",
    "Invite",
    "Outcome",
    "Plan",
    "Prospect",
    "Question",
    "Reminder",
    "ReminderTask",
    "Scan",
    "build_digests",
    "collect",
    "deliver",
    "introduce_from_reminder",
    "load_scan",
    "plan_reminders",
    "render_digest",
    "send_due",
    "slot_of",
    "week_of",
    "zone",
]
