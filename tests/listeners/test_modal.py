"""Empty command text opens the modal; its submission is validated field by field."""

from __future__ import annotations

import json
import time

from bot.ids import Field, ModalId
from bot.models import IntroStatus
from tests.factories import make_member


def submission(values: dict[Field, object]) -> dict:
    state = {}
    for field, value in values.items():
        key = "selected_user" if field == Field.ENGINEER else "value"
        state[field.value] = {field.action: {"type": "x", key: value}}
    return {
        "type": "view_submission",
        "team": {"id": "T_OURS"},
        "user": {"id": "U_AE"},
        "api_app_id": "A1",
        "token": "t",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": ModalId.INTRODUCE.value,
            "state": {"values": state},
            "private_metadata": "",
        },
    }


def test_empty_text_opens_the_modal(bot, fake):
    status, _ = bot.command("")
    assert status == 200
    deadline = time.monotonic() + 5
    while not fake.views_opened and time.monotonic() < deadline:  # opened right after the ack
        time.sleep(0.02)
    [opened] = fake.views_opened
    view = opened.get("view", opened)
    assert view["callback_id"] == ModalId.INTRODUCE
    assert {b["block_id"] for b in view["blocks"]} == {f.value for f in Field}


def test_bad_email_in_the_modal_is_answered_inline(bot, fake):
    status, body = bot.interact(
        submission({Field.DEAL: "D-7", Field.CONTACTS: "cto@acme.example, nope@"})
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "nope@" in answer["errors"][Field.CONTACTS]
    assert bot.wait_idle() == []


def test_modal_submission_introduces_with_notes(bot, fake):
    make_member(bot.engine)
    status, body = bot.interact(
        submission(
            {
                Field.DEAL: "D-7",
                Field.COMPANY: "Globex",
                Field.ENGINEER: "U_ENG",
                Field.CONTACTS: "cto@globex.example",
                Field.NOTES: "Promised weekly check-ins",
            }
        )
    )
    assert status == 200 and body in ("", "{}")
    [intro] = bot.wait_idle()
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert "Promised weekly check-ins" in json.dumps(fake.dm_messages("U_ENG"))
    assert fake.channel_by_name("care-globex") is not None
