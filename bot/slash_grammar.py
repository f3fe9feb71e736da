"""The `/introduce-care` grammar: text in, one typed command out (or a UsageError)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.exceptions import UsageError
from bot.parsing import (
    MAX_CONTACTS,
    deal_id,
    echo,
    mailto_address,
    mention_id,
    normalise_email,
    slack_unescape,
)
from bot.templating import phrase
from bot.text import clean_value


@dataclass(frozen=True)
class OpenModal:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Introduce:
    """`now` (right away) or `watch` (when the stage becomes pre-close)."""

    mode: str
    deal_id: str
    company: str = ""
    engineer: str | None = None
    contacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invite:
    """`invite`: prospect contacts added to a known deal and invited to its channel."""

    deal_id: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class SetStage:
    deal_id: str
    stage: str


@dataclass(frozen=True)
class Status:
    deal_id: str | None = None


@dataclass(frozen=True)
class Unwatch:
    deal_id: str


@dataclass(frozen=True)
class TeamAdd:
    user_id: str
    backup_id: str | None = None


@dataclass(frozen=True)
class TeamRemove:
    user_id: str


@dataclass(frozen=True)
class TeamList:
    pass


@dataclass(frozen=True)
class Reminders:
    on: bool


Command = (
    OpenModal
    | Help
    | Introduce
    | Invite
    | SetStage
    | Status
    | Unwatch
    | TeamAdd
    | TeamRemove
    | TeamList
    | Reminders
)


def parse(text: str) -> Command:
    """Parse the command text exactly as the SPEC's table reads."""
    words = text.split()
    if not words:
        return OpenModal()
    verb, args = words[0].lower(), words[1:]
    if verb == "help":
        return Help()
    if verb in ("now", "watch"):
        return _introduce(verb, args)
    if verb == "invite":
        return _invite(args)
    if verb == "stage":
        deal = _deal(args, "stage")
        stage = clean_value(slack_unescape(" ".join(args[1:])), limit=100)
        if not stage:
            raise UsageError(phrase("usage.say_stage"))
        return SetStage(deal, stage)
    if verb == "status":
        if len(args) > 1:
            raise UsageError(phrase("usage.status_args"))
        return Status(_deal(args, "status") if args else None)
    if verb == "unwatch":
        if len(args) != 1:
            raise UsageError(phrase("usage.unwatch_args"))
        return Unwatch(_deal(args, "unwatch"))
    if verb == "team":
        return _team(args)
    if verb == "reminders":
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise UsageError(phrase("usage.reminders_args"))
        return Reminders(on=args[0].lower() == "on")
    raise UsageError(phrase("usage.unknown_verb", verb=echo(clean_value(verb, limit=30))))


def _deal(args: list[str], verb: str) -> str:
    if not args:
        raise UsageError(phrase("usage.needs_deal", verb=verb))
    return deal_id(args[0])


def _introduce(verb: str, args: list[str]) -> Introduce:
    deal = _deal(args, verb)
    engineer: str | None = None
    contacts: list[str] = []
    company: list[str] = []
    for token in args[1:]:
        user = mention_id(token)
        mailto = mailto_address(token)
        if user:
            if engineer and engineer != user:
                raise UsageError(phrase("usage.one_engineer"))
            engineer = user
        elif mailto or ("@" in token and not token.startswith("<")):
            if token.startswith("@"):
                raise UsageError(
                    phrase("usage.not_a_mention", value=echo(clean_value(token, limit=40)))
                )
            email = normalise_email(mailto or token)
            if email not in contacts:
                contacts.append(email)
        else:
            company.append(token)
    if len(contacts) > MAX_CONTACTS:
        raise UsageError(phrase("usage.too_many_contacts", max=MAX_CONTACTS))
    company_name = clean_value(slack_unescape(" ".join(company)))
    return Introduce(verb, deal, company_name, engineer, tuple(contacts))


def _invite(args: list[str]) -> Invite:
    """Every word after the deal id is an email (plain or Slack's `<mailto:…>`)."""
    deal = _deal(args, "invite")
    emails: list[str] = []
    for token in args[1:]:
        email = normalise_email(mailto_address(token) or token)
        if email not in emails:
            emails.append(email)
    if not emails:
        raise UsageError(phrase("usage.invite_needs_email", crm_id=deal))
    if len(emails) > MAX_CONTACTS:
        raise UsageError(phrase("usage.too_many_contacts", max=MAX_CONTACTS))
    return Invite(deal, tuple(emails))


def _team(args: list[str]) -> TeamAdd | TeamRemove | TeamList:
    action = args[0].lower() if args else ""
    if action == "list" and len(args) == 1:
        return TeamList()
    if action == "remove" and len(args) == 2 and (user := mention_id(args[1])):
        return TeamRemove(user)
    if action == "add" and len(args) in (2, 4) and (user := mention_id(args[1])):
        if len(args) == 2:
            return TeamAdd(user)
        backup = mention_id(args[3])
        if args[2].lower() == "backup" and backup:
            if backup == user:
                raise UsageError(phrase("usage.own_backup"))
            return TeamAdd(user, backup)
    raise UsageError(phrase("usage.team_args"))
