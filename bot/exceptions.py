"""Errors people can fix: their message is shown to them as it is."""

from __future__ import annotations

USAGE = (
    "Usage: `/introduce-care [help | now <deal> [company] [@engineer] [email …] | "
    "watch <deal> … | stage <deal> <stage> | status [<deal>] | unwatch <deal> | "
    "team add @user [backup @user] | team remove @user | team list | reminders on|off]`"
)


class UserError(Exception):
    """Something the person who asked can fix; the message is one line for them."""

    def __init__(self, message: str, *, with_usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.with_usage = with_usage

    def __str__(self) -> str:
        return f"{self.message}\n{USAGE}" if self.with_usage else self.message


class UsageError(UserError):
    """Bad command text: the reason and the usage line."""

    def __init__(self, message: str) -> None:
        super().__init__(message, with_usage=True)


class SlackStepError(Exception):
    """A Slack call that cannot succeed by retrying; the introduction fails with it."""

    def __init__(self, step: str, error: str, *, permanent: bool) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error
        self.permanent = permanent
