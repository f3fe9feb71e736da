"""The introduction modal's submission: validate, answer errors inline, record, hand off.

What `slash_handlers.introduce` refuses (a UserError names the field) and anything
unexpected are answered inline by `bot.listeners.errors.answer_error`.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from bot import parsing
from bot.db import session_scope
from bot.exceptions import UserError
from bot.flows import slash_handlers
from bot.ids import Field, ModalId
from bot.modal import answer_modal
from bot.services import Services
from bot.slash_grammar import Introduce
from bot.templating import phrase
from bot.text import clean_value


def register(app: App, services: Services) -> None:
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        handle_submission(ack, body, view, services)

    app.view(ModalId.INTRODUCE.value)(submitted)


def _value(view: dict[str, Any], field: Field) -> Any:
    action = view.get("state", {}).get("values", {}).get(field, {}).get(field.action, {})
    return action.get("selected_user") if field == Field.ENGINEER else (action.get("value") or "")


def parse_submission(view: dict[str, Any]) -> tuple[Introduce, str, dict[str, str]]:
    """The request the modal describes, its notes, and errors by block id."""
    errors: dict[str, str] = {}
    deal_id = _value(view, Field.DEAL).strip()
    try:
        deal_id = parsing.deal_id(deal_id) if deal_id else ""
    except UserError as exc:
        errors[Field.DEAL] = exc.message
    if not deal_id:
        errors.setdefault(Field.DEAL, phrase("usage.modal_deal_missing"))
    contacts: list[str] = []
    for raw in re.split(r"[\s,;]+", _value(view, Field.CONTACTS)):
        if raw:
            try:
                contacts.append(parsing.normalise_email(raw))
            except UserError as exc:
                errors[Field.CONTACTS] = exc.message
    request = Introduce(
        "now",
        deal_id,
        clean_value(_value(view, Field.COMPANY)),
        _value(view, Field.ENGINEER),
        tuple(dict.fromkeys(contacts)),
    )
    return request, _value(view, Field.NOTES).strip(), errors


def handle_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    request, notes, errors = parse_submission(view)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    with session_scope(services.engine) as session:
        reply = slash_handlers.introduce(
            session,
            request=request,
            user_id=body.get("user", {}).get("id", ""),
            settings=services.settings,
            notes=notes,
        )
    if reply.waiting:  # recorded, but the deal lacks what an introduction needs
        ack(response_action="update", view=answer_modal(reply.text))
    else:
        ack()
    if reply.queued:
        services.hand_off()
