"""Two app processes with their workers on one PostgreSQL database, every webhook sent
three times to both at once: one channel per deal and no step twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from bot.models import Introduction, IntroStatus
from bot.slack.requests import post
from tests.crm.conftest import CRM_SECRET, generic_headers
from tests.factories import make_deal, make_member
from tests.processes import free_port, wait_until_healthy

pytestmark = pytest.mark.slow
DEALS = 50


def start_app(settings, port: int) -> subprocess.Popen:
    env = os.environ | {
        "SLACK_BOT_TOKEN": settings.slack_bot_token, "SLACK_SIGNING_SECRET": "s3cret-signing",
        "SLACK_API_URL": settings.slack_api_url, "DATABASE_URL": settings.database_url,
        "CRM_WEBHOOK_SECRET": CRM_SECRET, "CARE_POLL_MS": "100", "CARE_LEASE_SECONDS": "30",
        "CAREINTRO_ENV_FILE": os.devnull, "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env)
    wait_until_healthy(process, port, timeout=30)
    return process


def test_fifty_deals_three_deliveries_two_processes(settings, fake, engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("two processes on one database: PostgreSQL")
    make_member(engine, "U_ENG", backup="U_BACKUP")
    make_member(engine, "U_ENG2", backup=None)
    for n in range(DEALS):
        make_deal(engine, f"D-{n}", company="", watched=True)
    ports = [free_port(), free_port()]
    apps = [start_app(settings, port) for port in ports]
    try:

        def deliver(job: tuple[int, int]) -> int:
            n, attempt = job
            event = {"deal_id": f"D-{n}", "stage": "Contract Sent", "company": f"Company {n}",
                     "contacts": [f"cto@c{n}.example"]}  # fmt: skip
            body = json.dumps(event)
            url = f"http://127.0.0.1:{ports[attempt % 2]}/crm/webhook"
            return post(url, body, generic_headers(body))[0]

        jobs = [(n, attempt) for attempt in range(3) for n in range(DEALS)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            assert set(pool.map(deliver, jobs)) == {200}

        deadline = time.monotonic() + 120
        while True:
            with Session(engine) as session:
                intros = session.exec(select(Introduction)).all()
            if len(intros) == DEALS and all(i.status == IntroStatus.DONE for i in intros):
                break
            assert time.monotonic() < deadline, [(i.id, i.status, i.last_error) for i in intros]
            time.sleep(0.2)
    finally:
        for app in apps:
            app.terminate()
        for app in apps:
            app.wait(15)

    care = [c for c in fake.channels.values() if c.name.startswith("care-company-")]
    assert sorted(c.name for c in care) == sorted(f"care-company-{n}" for n in range(DEALS))
    assert len(fake.calls_to("conversations.create")) == DEALS  # claims were exclusive
    assert all(len(fake.messages(c.id)) == 1 for c in care)
    assert len(fake.calls_to("conversations.inviteShared")) == DEALS
    assert len(fake.dm_messages("U_AE")) == DEALS  # the AE who registered each deal, once
    engineers = fake.dm_messages("U_ENG") + fake.dm_messages("U_ENG2")
    assert len(engineers) == DEALS
