"""Errors people can fix: their message is shown to them as it is."""

from __future__ import annotations

from bot.templating import phrase

USAGE = phrase("usage.line")  # the words live in templates/phrases/usage.toml


class UserError(Exception):
    """Something the person who asked can fix; the message is one line for them.

    `about` names the input to fix (a `bot.ids.Field`): a modal shows the message there.
    """

    def __init__(self, message: str, *, with_usage: bool = False, about: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.with_usage = with_usage
        self.about = about

    def __str__(self) -> str:
        return f"{self.message}\n{USAGE}" if self.with_usage else self.message


class UsageError(UserError):
    """Bad command text: the reason and the usage line."""

    def __init__(self, message: str, *, about: str | None = None) -> None:
        super().__init__(message, with_usage=True, about=about)


class SlackStepError(Exception):
    """A Slack call that cannot succeed by retrying; the introduction fails with it."""

    def __init__(self, step: str, error: str, *, permanent: bool) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error
        self.permanent = permanent
