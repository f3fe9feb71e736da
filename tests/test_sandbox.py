"""The README's first command: the sandbox shows a whole introduction, then the HubSpot
path (a deal moved in the HubSpot fake, its webhook, the note on the deal)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

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
