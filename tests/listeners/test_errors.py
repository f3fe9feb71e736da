"""One error path: what a listener raises is answered by `bot.listeners.errors`."""

from __future__ import annotations

import json
import logging
import re

from bot.flows import slash_handlers
from bot.ids import Field
from tests.listeners.test_modal import submission


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("disk on fire")


def test_an_unexpected_error_gets_one_id_shown_and_logged(bot, monkeypatch, caplog):
    monkeypatch.setattr(slash_handlers, "status", _boom)
    with caplog.at_level(logging.ERROR, logger="bot.listeners.errors"):
        status, answer = bot.command("status")
    assert status == 200 and answer["response_type"] == "ephemeral"
    [shown] = re.findall(r"error id `([0-9a-f]{8})`", answer["text"])
    [record] = [r for r in caplog.records if f"error_id={shown}" in r.getMessage()]
    assert record.exc_info and "disk on fire" in str(record.exc_info[1])
    assert "disk on fire" not in answer["text"]


def test_a_user_error_after_parsing_is_the_ephemeral_answer(bot):
    status, answer = bot.command("unwatch D-404")
    assert status == 200 and answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("I don't know deal D-404.") and "Usage:" in answer["text"]


def test_an_empty_roster_is_answered_beside_the_engineer_field(bot):
    status, body = bot.interact(submission({Field.DEAL: "D-7", Field.COMPANY: "Globex"}))
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert "care roster is empty" in answer["errors"][Field.ENGINEER]
    assert bot.wait_idle() == []


def test_an_unexpected_error_in_the_modal_shows_its_id_on_the_deal_field(bot, monkeypatch):
    monkeypatch.setattr(slash_handlers, "introduce", _boom)
    status, body = bot.interact(submission({Field.DEAL: "D-7"}))
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert re.search(r"error id `[0-9a-f]{8}`", answer["errors"][Field.DEAL])


def test_a_deal_id_with_spaces_is_refused_in_the_modal(bot):
    status, body = bot.interact(submission({Field.DEAL: "D 7"}))
    answer = json.loads(body)
    assert status == 200 and "is not a deal id" in answer["errors"][Field.DEAL]
