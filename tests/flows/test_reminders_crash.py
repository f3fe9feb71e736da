"""`remind` killed after Slack posted the DM but before it was recorded: the next run
finds the message by its metadata and records it; nobody gets a second one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import Session, select

from bot.models import ReminderSent
from tests.flows.test_reminders import introduced

pytestmark = pytest.mark.slow


def remind(settings, *, wait: bool = True) -> subprocess.Popen | str:
    env = os.environ | {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "CARE_LEASE_SECONDS": "1",
        "CAREINTRO_ENV_FILE": os.devnull,
        "LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "bot", "remind"]
    if not wait:
        return subprocess.Popen(command, env=env)
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def test_remind_killed_mid_send_then_run_again_sends_each_reminder_once(settings, fake, engine):
    introduced(engine, "D-1", "U_ENG", ae="U_AE")
    fake.hang("chat.postMessage", after_effect=True)  # posted; the answer never arrives
    process = remind(settings, wait=False)
    deadline = time.monotonic() + 20
    while not (fake.dm_messages("U_AE") or fake.dm_messages("U_ENG")):
        assert time.monotonic() < deadline, "nothing was posted"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    fake.release_all()
    fake.clear_faults()
    with Session(engine) as session:
        [claimed] = session.exec(select(ReminderSent)).all()
        assert claimed.sent_at is None

    time.sleep(1.2)  # the claim is stale now (CARE_LEASE_SECONDS=1)
    assert "Sent 2 reminders for week " in remind(settings)
    assert len(fake.dm_messages("U_AE")) == len(fake.dm_messages("U_ENG")) == 1
    with Session(engine) as session:
        rows = session.exec(select(ReminderSent)).all()
    assert len(rows) == 2 and all(r.sent_at and r.message_ts for r in rows)
    posted = {m["ts"] for u in ("U_AE", "U_ENG") for m in fake.dm_messages(u)}
    assert {r.message_ts for r in rows} == posted

    assert "Nothing sent" in remind(settings)
    assert len(fake.dm_messages("U_AE")) == len(fake.dm_messages("U_ENG")) == 1
