"""The introduction modal's Block Kit, built with slack_sdk's models; its submission is
read by `bot.listeners.views` through the same ids (`bot.ids.Field`)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.ids import Field, ModalId
from bot.parsing import MAX_DEAL_ID, MAX_NOTES
from bot.templating import has_phrase, phrase


def introduce_modal() -> dict[str, Any]:
    """The "Introduce the care team" modal opened by `/introduce-care` with no text."""
    view = View(
        type="modal",
        callback_id=ModalId.INTRODUCE,
        title=_words("title"),
        submit=_words("submit"),
        close=_words("close"),
        blocks=[
            _input(Field.DEAL, PlainTextInputElement(max_length=MAX_DEAL_ID), optional=None),
            _input(Field.COMPANY, PlainTextInputElement(max_length=200)),
            _input(Field.ENGINEER, UserSelectElement()),
            _input(Field.CONTACTS, PlainTextInputElement(multiline=True)),
            _input(Field.NOTES, PlainTextInputElement(multiline=True, max_length=MAX_NOTES)),
        ],
    )
    return view.to_dict()


def answer_modal(text: str) -> dict[str, Any]:
    """What the form shows once submitted when the deal was recorded but waits (what it
    lacks, and how to add it): the person sees it where they typed, and only they do."""
    view = View(
        type="modal",
        title=_words("recorded_title"),
        close=_words("close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
    return view.to_dict()


def _input(
    field: Field,
    element: PlainTextInputElement | UserSelectElement,
    *,
    optional: bool | None = True,
) -> InputBlock:
    """One input: block id `field`, action id `field.action` (what the listener reads back),
    its label and (when the phrases have one) its hint."""
    element.action_id = field.action
    hint = f"{field.value}_hint"
    return InputBlock(
        block_id=field,
        label=_words(f"{field.value}_label"),
        optional=optional,
        hint=_words(hint) if has_phrase(f"slash.modal.{hint}") else None,
        element=element,
    )


def _words(key: str) -> str:
    """The form's words (`templates/phrases/slash.toml`, `[modal]`); plain text, as typed."""
    return phrase(f"slash.modal.{key}")
