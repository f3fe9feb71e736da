"""The `/introduce-care` grammar: text in, one typed command out (or a UsageError)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from bot.exceptions import UsageError
from bot.text import clean_value

_MENTION = re.compile(r"^<@([UW][A-Z0-9_]{1,30})(?:\|[^>]*)?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
_DEAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}$")
MAX_CONTACTS = 20


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
    | SetStage
    | Status
    | Unwatch
    | TeamAdd
    | TeamRemove
    | TeamList
    | Reminders
)


def normalise_email(raw: str) -> str:
    """A valid address, lower-cased; raises UsageError naming the bad one."""
    shown = raw if len(raw) <= 80 else raw[:77] + "…"
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise UsageError(f"`{shown}` is not a valid email address.") from None


def slack_unescape(text: str) -> str:
    """Slack sends typed `&`, `<`, `>` as entities; keep what the person typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention_id(token: str) -> str | None:
    match = _MENTION.match(token)
    return match[1] if match else None


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
    if verb == "stage":
        deal = _deal(args, "stage")
        stage = clean_value(slack_unescape(" ".join(args[1:])), limit=100)
        if not stage:
            raise UsageError("Say which stage, e.g. `/introduce-care stage D-42 Contract Sent`.")
        return SetStage(deal, stage)
    if verb == "status":
        if len(args) > 1:
            raise UsageError("`status` takes at most one deal id.")
        return Status(_deal(args, "status") if args else None)
    if verb == "unwatch":
        if len(args) != 1:
            raise UsageError("`unwatch` takes one deal id.")
        return Unwatch(_deal(args, "unwatch"))
    if verb == "team":
        return _team(args)
    if verb == "reminders":
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise UsageError("Say `reminders on` or `reminders off`.")
        return Reminders(on=args[0].lower() == "on")
    raise UsageError(f"I don't know `{clean_value(verb, limit=30)}`.")


def _deal(args: list[str], verb: str) -> str:
    if not args:
        raise UsageError(f"`{verb}` needs a deal id, e.g. `/introduce-care {verb} D-42`.")
    if not _DEAL_ID.match(args[0]):
        shown = clean_value(args[0], limit=40)
        raise UsageError(
            f"`{shown}` is not a deal id (letters, digits and `-_.:/#`, up to 64 characters)."
        )
    return args[0]


def _introduce(verb: str, args: list[str]) -> Introduce:
    deal = _deal(args, verb)
    engineer: str | None = None
    contacts: list[str] = []
    company: list[str] = []
    for token in args[1:]:
        user = mention_id(token)
        mailto = _MAILTO.match(token)
        if user:
            if engineer and engineer != user:
                raise UsageError("Name one engineer; the backup comes from the care roster.")
            engineer = user
        elif mailto or ("@" in token and not token.startswith("<")):
            if token.startswith("@"):
                raise UsageError(
                    f"`{clean_value(token, limit=40)}` is not a Slack mention: pick the person "
                    "from the list Slack shows when you type @."
                )
            email = normalise_email(mailto[1] if mailto else token)
            if email not in contacts:
                contacts.append(email)
        else:
            company.append(token)
    if len(contacts) > MAX_CONTACTS:
        raise UsageError(f"At most {MAX_CONTACTS} contacts per deal.")
    company_name = clean_value(slack_unescape(" ".join(company)))
    return Introduce(verb, deal, company_name, engineer, tuple(contacts))


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
                raise UsageError("Someone can't be their own backup.")
            return TeamAdd(user, backup)
    raise UsageError("Say `team add @user [backup @user]`, `team remove @user` or `team list`.")
