"""The README's generic-webhook example, run as written (bash, openssl, curl) against the
running app: its signature is accepted and the deal is recorded."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.models import Deal
from bot.store.deals import get_deal
from tests.crm.conftest import CRM_SECRET

README = Path(__file__).resolve().parents[2] / "README.md"


def recorded(bot, crm_id: str) -> Deal | None:
    with Session(bot.engine) as session:
        return get_deal(session, crm_id=crm_id)


def readme_example() -> str:
    """The sh block of "### The generic webhook"."""
    section = README.read_text(encoding="utf-8").split("### The generic webhook")[1]
    return re.search(r"```sh\n(.*?)```", section, re.S)[1]  # type: ignore[index]


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="no tools")
def test_the_readme_curl_example_is_accepted(crm_bot):
    bot = crm_bot()
    script = readme_example()
    script = re.sub(r"^SECRET=.*$", f"SECRET='{CRM_SECRET}'", script, count=1, flags=re.M)
    script = re.sub(r"^URL=.*$", f"URL='{bot.url}/crm/webhook'", script, count=1, flags=re.M)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["ok"], answer["accepted"], answer["new"]) == (True, 1, 1)
    deadline = time.monotonic() + 10
    while (deal := recorded(bot, "D-42")) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker applies the stored event
    assert deal is not None and deal.company == "Acme Corp"


def test_a_wrong_secret_in_the_readme_example_is_refused(crm_bot):
    bot = crm_bot()
    script = readme_example()
    script = re.sub(r"^URL=.*$", f"URL='{bot.url}/crm/webhook'", script, count=1, flags=re.M)
    script = script.replace("curl -sS", "curl -sS -o /dev/null -w '%{http_code}'")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.stdout == "401"  # the placeholder secret is not the bot's
