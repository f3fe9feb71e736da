"""The README's first command: the sandbox shows a whole introduction."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_sandbox_prints_what_each_person_sees(tmp_path):
    env = os.environ | {"CAREINTRO_ENV_FILE": os.devnull}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "What the prospect sees in #care-acme-corp" in out
    assert "Topic: Your care team: Erin Engineer" in out
    assert "Meet @Erin Engineer" in out
    assert "Hand-off brief: Acme Corp" in out
    assert "has met their support engineer" in out
    prospect = out.split("What the prospect sees")[1].split("What the engineer")[0]
    assert "48,000" not in prospect and "SSO" not in prospect
    assert "48,000" in out.split("What the engineer")[1]
