"""Callback, block and action ids, shared by the view builders and the handlers."""

from enum import StrEnum

COMMAND = "/introduce-care"


class ModalId(StrEnum):
    INTRODUCE = "introduce_care_modal"


class ActionId(StrEnum):
    """Action ids of buttons in the bot's messages."""

    INTRODUCE_DEAL = "introduce_deal"  # the weekly reminder's "Introduce now"
    RESEND_INVITE = "resend_invite"  # a stale invitation's "Re-send" (value: contact id)


class Field(StrEnum):
    """Block ids of the introduction modal; each block's action id is `<block>_input`."""

    DEAL = "deal"
    COMPANY = "company"
    ENGINEER = "engineer"
    CONTACTS = "contacts"
    NOTES = "notes"

    @property
    def action(self) -> str:
        return f"{self.value}_input"
