"""The README's first command: the sandbox shows a whole introduction, the prospect's
question through to the engineer's answer and everyone's Home, then the HubSpot path (a
deal moved in the HubSpot fake, its webhook, the note on the deal)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bot.config import Settings
from bot.emulator import FakeSlack
from bot.emulator.hubspot import FakeHubSpot
from bot.sandbox import sandbox_settings

pytestmark = pytest.mark.slow


def test_sandbox_prints_what_each_person_sees(tmp_path):
    env = os.environ | {"CAREINTRO_ENV_FILE": os.devnull}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 20  # the README promises a quick look
    out = result.stdout
    assert "What the prospect sees in #care-acme-corp" in out
    assert "Topic: Your care team: Erin Engineer" in out
    assert "Meet @Erin Engineer" in out
    assert "Hand-off brief: Acme Corp" in out
    assert "has met their support engineer" in out
    prospect = out.split("What the prospect sees")[1].split("What the engineer")[0]
    assert "48,000" not in prospect and "SSO" not in prospect
    assert "48,000" in out.split("What the engineer")[1]
    watch = out.split("After the introduction")[1].split("The HubSpot path")[0]
    assert "(CARE_RESPONSE_MINUTES=30)" in watch
    assert "Jordan Chen (cto@acme.example, a person of the prospect's own Slack" in watch
    assert "workspace T0ACME) accepts the Slack Connect invitation" in watch
    assert "the event's envelope names T0ACME" in watch and "Compressed:" in watch
    alert = watch.split("What the engineer (Erin) gets")[1].split("while the question waits")[0]
    assert "has waited 31 minutes* without a reply (the promise is 30 minutes)" in alert
    assert "@Jordan Chen: _Hi! How do we rotate our API keys" in alert
    waiting = watch.split("while the question waits")[1].split("Erin Engineer answers")[0]
    assert "*1 question waiting* (oldest 31 min)" in waiting
    assert "Clock stopped: answered by Erin Engineer after 31 min." in watch
    homes = watch.split("Clock stopped")[1]
    engineer, ae, admin = homes.split("── The Home tab of ")[1:]
    assert engineer.startswith("the engineer (Erin)") and "no question waiting" in engineer
    assert "invitations: 1 accepted, 1 sent" in engineer
    assert ae.startswith("the AE (Alex)") and "introduced · engineer @Erin Engineer" in ae
    assert admin.startswith("the admin (Pat") and "median *31." in admin
    hubspot = out.split("The HubSpot path")[1]
    assert "HTTP 200" in hubspot and '"propertyValue": "137498562"' in hubspot
    assert "What the prospect sees in #care-globex-industries" in hubspot  # HubSpot's company
    assert "Welcome, Globex Industries!" in hubspot and "with Dana Deals" in hubspot
    assert "it@globex.example: sent" in hubspot
    assert "Nora Noemail: no email in the CRM, so not invited" in hubspot
    assert "*AE* @Dana Deals" in hubspot and "72,000" in hubspot.split("the engineer")[1]
    assert "72,000" not in hubspot.split("What the prospect sees")[1].split("the engineer")[0]
    assert "What the AE (Dana, the HubSpot owner) gets" in hubspot
    note = hubspot.split("The note CareIntro wrote on HubSpot deal")[1]
    assert "(1 note)" in note and "Support engineer: Erin Engineer" in note
    assert "Care channel: #care-globex-industries (https://slack.com/app_redirect" in note
    assert "Ivan Ito <it@globex.example>" in note


def test_the_sandbox_runs_the_bot_with_the_default_promise(tmp_path):
    """Only Slack's clock is compressed: the bot's CARE_RESPONSE_MINUTES is the default a
    real installation gets, 30."""
    with FakeSlack() as fake, FakeHubSpot() as hub:
        used = sandbox_settings(fake, hub, tmp_path)
    assert used.response_minutes == Settings.from_env({}).response_minutes == 30
