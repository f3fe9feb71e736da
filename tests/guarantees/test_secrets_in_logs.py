"""A whole flow's logs, at DEBUG, hold no token, no secret and no full prospect email."""

from __future__ import annotations

import logging

from bot.logs import configure_logging
from tests.conftest import SECRET, TOKEN
from tests.factories import make_member


def test_logs_of_a_full_flow_hold_no_secrets(bot, fake, caplog):
    configure_logging("DEBUG", secrets=[SECRET])
    caplog.set_level(logging.DEBUG)
    make_member(bot.engine)
    fake.fail_next("conversations.setTopic", status=500)  # an error path logs too
    bot.command("now D-1 Acme <@U_ENG> cto@acme.example")
    bot.command("status D-1")
    bot.wait_idle(timeout=30)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 20, "the flow should have logged"
    assert "c***@acme.example" in logged or "cto" not in logged
    assert TOKEN not in logged and "xoxb-" not in logged
    assert SECRET not in logged
    assert "cto@acme.example" not in logged
