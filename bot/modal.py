"""The introduction modal's Block Kit, built with slack_sdk's models; its submission is
read by `bot.listeners.views` through the same ids (`bot.ids.Field`)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, UserSelectElement
from slack_sdk.models.views import View

from bot.ids import Field, ModalId
from bot.parsing import MAX_DEAL_ID, MAX_NOTES


def introduce_modal() -> dict[str, Any]:
    """The "Introduce the care team" modal opened by `/introduce-care` with no text."""
    view = View(
        type="modal",
        callback_id=ModalId.INTRODUCE,
        title="Introduce the care team",
        submit="Introduce",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=Field.DEAL,
                label="Deal id",
                hint="The CRM's deal id, e.g. D-42 (any key when no CRM is connected).",
                element=PlainTextInputElement(action_id=Field.DEAL.action, max_length=MAX_DEAL_ID),
            ),
            InputBlock(
                block_id=Field.COMPANY,
                label="Company",
                optional=True,
                element=PlainTextInputElement(action_id=Field.COMPANY.action, max_length=200),
            ),
            InputBlock(
                block_id=Field.ENGINEER,
                label="Support engineer",
                optional=True,
                hint="Leave empty to pick from the care roster.",
                element=UserSelectElement(action_id=Field.ENGINEER.action),
            ),
            InputBlock(
                block_id=Field.CONTACTS,
                label="Prospect contacts",
                optional=True,
                hint="Email addresses, separated by commas or new lines.",
                element=PlainTextInputElement(action_id=Field.CONTACTS.action, multiline=True),
            ),
            InputBlock(
                block_id=Field.NOTES,
                label="Hand-off notes",
                optional=True,
                hint="What was promised: the engineer gets this in their brief.",
                element=PlainTextInputElement(
                    action_id=Field.NOTES.action, multiline=True, max_length=MAX_NOTES
                ),
            ),
        ],
    )
    return view.to_dict()
