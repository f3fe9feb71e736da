"""Start-up checks that need the outside world: the database, Slack's auth.test, the port.

`bot/config.py` checks that each setting is well formed; these check that it works. A
failure is a `ConfigError` (one line, exit code 2, no traceback) naming what to fix, found
before any worker thread starts; Slack not answering is only a warning, since the worker
waits it out anyway.
"""

from __future__ import annotations

import errno
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings
from bot.db import head_revision, known_revision, migrate_if_sqlite, schema_revision
from bot.slack.client import slack_error
from bot.templating import terminal_phrase

log = logging.getLogger(__name__)

# auth.test's answers for a token Slack will never take: fixing the setting is the only way.
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
SLACK_CHECK_TIMEOUT = 10  # seconds


def check_database(url: str, *, need_head: bool = True) -> None:
    """The database answers and, when `need_head`, its schema is the code's: SQLite is
    brought there now (as ever), PostgreSQL must have run `careintro migrate`."""
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        revision = schema_revision(url)
    except SQLAlchemyError as exc:
        raise ConfigError(_unreachable(shown, exc)) from None
    if not need_head or revision == head_revision():
        return
    if revision is not None and not known_revision(revision):
        raise ConfigError(terminal_phrase("cli.checks.schema_unknown", url=shown,
                                          revision=revision, head=head_revision()))  # fmt: skip
    if not migrate_if_sqlite(url):
        raise ConfigError(terminal_phrase("cli.checks.schema_behind", url=shown,
                                          revision=revision, head=head_revision()))  # fmt: skip


def _unreachable(shown: str, exc: SQLAlchemyError) -> str:
    """The driver's own reason (its last line, without `FATAL:`), and what usually fixes it."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    reason = detail.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    lowered = reason.lower()
    if shown.startswith("sqlite"):
        advice = "sqlite"
    elif "database" in lowered and "does not exist" in lowered:
        advice = "missing"
    elif "password" in lowered or "role" in lowered or "authentication" in lowered:
        advice = "credentials"
    else:
        advice = "host"
    return terminal_phrase("cli.checks.database_unreachable", url=shown, reason=reason,
                           advice=terminal_phrase(f"cli.checks.advice.{advice}"))  # fmt: skip


def check_slack_token(settings: Settings) -> None:
    """`auth.test` once: a token Slack refuses stops start-up; Slack not answering (down,
    a proxy, a 5xx) is logged once and start-up goes on, as the worker waits it out."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                       timeout=SLACK_CHECK_TIMEOUT, retry_handlers=[])  # fmt: skip
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in REFUSED_TOKEN_ERRORS:
            raise ConfigError(terminal_phrase("cli.checks.token_refused", error=error)) from None
        log.warning(terminal_phrase("cli.checks.slack_unreachable", reason=error))
    except (SlackClientError, OSError) as exc:
        log.warning(terminal_phrase("cli.checks.slack_unreachable", reason=_reason(exc)))


def open_socket_mode(settings: Settings, client: WebClient) -> str:
    """The first Socket Mode URL (apps.connections.open), or one line saying why not."""
    try:
        response = client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        error = slack_error(exc)
    except (SlackClientError, OSError) as exc:
        error = _reason(exc)
    else:
        return str(response["url"])
    raise ConfigError(terminal_phrase("cli.checks.socket_refused", error=error))


def port_error(exc: OSError, port: int) -> ConfigError:
    """Binding the HTTP port failed: in use (the usual case), or not ours to take."""
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(terminal_phrase("cli.checks.port_in_use", port=port))
    return ConfigError(terminal_phrase("cli.checks.port_error", port=port, reason=_reason(exc)))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
    return str(reason).strip().splitlines()[0] if str(reason).strip() else type(exc).__name__
