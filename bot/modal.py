"""The introduction modal's Block Kit, built with slack_sdk's models; its submission is
read by `bot.listeners.views` through the same ids (`bot.ids.Field`)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, UserSelectElement
from slack_sdk.models.views import View

from bot.ids import Field, ModalId
from bot.parsing import MAX_DEAL_ID, MAX_NOTES
from bot.templating import phrase


def introduce_modal() -> dict[str, Any]:
    """The "Introduce the care team" modal opened by `/introduce-care` with no text."""
    view = View(
        type="modal",
        callback_id=ModalId.INTRODUCE,
        title=_words("title"),
        submit=_words("submit"),
        close=_words("close"),
        blocks=[
            InputBlock(
                block_id=Field.DEAL,
                label=_words("deal_label"),
                hint=_words("deal_hint"),
                element=PlainTextInputElement(action_id=Field.DEAL.action, max_length=MAX_DEAL_ID),
            ),
            InputBlock(
                block_id=Field.COMPANY,
                label=_words("company_label"),
                optional=True,
                element=PlainTextInputElement(action_id=Field.COMPANY.action, max_length=200),
            ),
            InputBlock(
                block_id=Field.ENGINEER,
                label=_words("engineer_label"),
                optional=True,
                hint=_words("engineer_hint"),
                element=UserSelectElement(action_id=Field.ENGINEER.action),
            ),
            InputBlock(
                block_id=Field.CONTACTS,
                label=_words("contacts_label"),
                optional=True,
                hint=_words("contacts_hint"),
                element=PlainTextInputElement(action_id=Field.CONTACTS.action, multiline=True),
            ),
            InputBlock(
                block_id=Field.NOTES,
                label=_words("notes_label"),
                optional=True,
                hint=_words("notes_hint"),
                element=PlainTextInputElement(
                    action_id=Field.NOTES.action, multiline=True, max_length=MAX_NOTES
                ),
            ),
        ],
    )
    return view.to_dict()


def _words(key: str) -> str:
    """The form's words (`templates/phrases/slash.toml`, `[modal]`); plain text, as typed."""
    return phrase(f"slash.modal.{key}")
