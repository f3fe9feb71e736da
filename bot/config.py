"""One typed settings object, read once from the environment (and `.env`)."""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.text import normalise_stage

DEFAULT_PRECLOSE = "decisionmakerboughtin,contractsent,proposalpricequote,negotiationreview"
DEFAULT_LEASE_SECONDS = 300  # how long a worker holds an introduction unrenewed
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PLACEHOLDERS = ("changethis", "your-", "xxxx", "<", "replace")

Mode = Literal["http", "socket", "worker", "cli"]
Getter = Callable[..., str]
DEFAULT_HUBSPOT_API_URL = "https://api.hubapi.com"
DEFAULT_SALESFORCE_API_VERSION = "v62.0"
SALESFORCE_ORG_ID = re.compile(r"00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")  # 15 or 18 chars
SALESFORCE_SETTINGS = (
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
)
DATABASE_BACKENDS = ("sqlite", "postgresql")
# Slack user ids: U… (or W… on Enterprise Grid); the tests' own ids have underscores.
_USER_ID = re.compile(r"[UW][A-Z0-9_]{2,31}")


class ConfigError(ValueError):
    """A setting the operator must fix; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///careintro.db"
    port: int = 3000
    preclose_stages: frozenset[str] = field(
        default_factory=lambda: frozenset(DEFAULT_PRECLOSE.split(","))
    )
    won_stages: frozenset[str] = frozenset({"closedwon"})
    lost_stages: frozenset[str] = frozenset({"closedlost"})
    auto_watch: bool = False
    channel_name_template: str = "care-{company}"
    channel_private: bool = True
    admins: frozenset[str] = frozenset()
    response_minutes: int = 30
    reminder_day: str = "mon"
    reminder_time: time = time(9, 0)
    hubspot_client_secret: str = ""
    crm_webhook_secret: str = ""
    public_url: str = ""
    hubspot_access_token: str = ""  # set: the HubSpot connector is on
    hubspot_api_url: str = DEFAULT_HUBSPOT_API_URL
    salesforce_instance_url: str = ""  # set (with the client id and secret): Salesforce is on
    salesforce_client_id: str = ""
    salesforce_client_secret: str = ""
    salesforce_api_version: str = DEFAULT_SALESFORCE_API_VERSION.removeprefix("v")  # "62.0"
    salesforce_org_id: str = ""  # set: POST /crm/salesforce takes this org's Outbound Messages
    crm_poll_seconds: int = 60
    preclose_probability: float | None = None  # an open stage this likely to win is pre-close
    crm_writeback: bool = True
    archive_lost_days: int = 14  # a lost deal's channel is archived this long after; 0: never
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    poll_seconds: float = 2.0
    worker_threads: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse and check every variable; raise ConfigError naming the first bad one."""
        env = os.environ if env is None else env
        get: Getter = lambda name, default="": env.get(name, default).strip()  # noqa: E731
        return cls(**_slack(get), **_care(get), **_crm(get), **_worker(get))

    def require(self, mode: Mode) -> None:
        """Stop start-up with one line when a secret the mode needs is missing."""
        needs = {
            "http": ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
            "socket": ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"],
            "worker": ["SLACK_BOT_TOKEN"],
            "cli": [],
        }[mode]
        values = {
            "SLACK_BOT_TOKEN": (self.slack_bot_token, "xoxb-"),
            "SLACK_SIGNING_SECRET": (self.slack_signing_secret, ""),
            "SLACK_APP_TOKEN": (self.slack_app_token, "xapp-"),
        }
        for name in needs:
            value, prefix = values[name]
            if not value:
                raise ConfigError(f"{name} is not set: set it in the environment or in .env")
            if any(p in value.lower() for p in _PLACEHOLDERS):
                raise ConfigError(f"{name} still holds a placeholder: set the real value")
            if prefix and not value.startswith(prefix):
                raise ConfigError(f"{name} must start with {prefix!r}")


def _slack(get: Getter) -> dict[str, Any]:
    api_url = _url(get("SLACK_API_URL", "https://slack.com/api/"), "SLACK_API_URL")
    return {
        "slack_bot_token": get("SLACK_BOT_TOKEN"),
        "slack_signing_secret": get("SLACK_SIGNING_SECRET"),
        "slack_app_token": get("SLACK_APP_TOKEN"),
        "slack_api_url": api_url if api_url.endswith("/") else api_url + "/",
        "database_url": _database_url(get("DATABASE_URL", "sqlite:///careintro.db")),
        "port": _int(get("PORT", "3000"), "PORT", minimum=1, maximum=65535),
        "public_url": get("PUBLIC_URL").rstrip("/"),
    }


def _care(get: Getter) -> dict[str, Any]:
    auto_watch = _choice(get("CARE_AUTO_WATCH", "off"), "CARE_AUTO_WATCH", ("all", "off"))
    return {
        "preclose_stages": _stages(
            get("CARE_PRECLOSE_STAGES", DEFAULT_PRECLOSE), "CARE_PRECLOSE_STAGES"
        ),
        "won_stages": _stages(get("CARE_WON_STAGES", "closedwon"), "CARE_WON_STAGES"),
        "lost_stages": _stages(get("CARE_LOST_STAGES", "closedlost"), "CARE_LOST_STAGES"),
        "auto_watch": auto_watch == "all",
        "channel_name_template": _channel_template(get("CARE_CHANNEL_NAME", "care-{company}")),
        "channel_private": _bool(get("CARE_CHANNEL_PRIVATE", "true"), "CARE_CHANNEL_PRIVATE"),
        "admins": _admins(get("CARE_ADMINS")),
        "response_minutes": _int(
            get("CARE_RESPONSE_MINUTES", "30"), "CARE_RESPONSE_MINUTES", minimum=1, maximum=10080
        ),
        "reminder_day": _choice(
            get("CARE_REMINDER_DAY", "mon").lower()[:3], "CARE_REMINDER_DAY", WEEKDAYS
        ),
        "reminder_time": _time(get("CARE_REMINDER_TIME", "09:00")),
        "archive_lost_days": _int(
            get("CARE_ARCHIVE_LOST_DAYS", "14"), "CARE_ARCHIVE_LOST_DAYS", minimum=0, maximum=3650
        ),
    }


def _crm(get: Getter) -> dict[str, Any]:
    return {
        "hubspot_client_secret": get("HUBSPOT_CLIENT_SECRET"),
        "crm_webhook_secret": get("CRM_WEBHOOK_SECRET"),
        "hubspot_access_token": get("HUBSPOT_ACCESS_TOKEN"),
        "hubspot_api_url": _url(
            get("HUBSPOT_API_URL", DEFAULT_HUBSPOT_API_URL), "HUBSPOT_API_URL"
        ).rstrip("/"),
        "crm_poll_seconds": _int(
            get("CARE_CRM_POLL_SECONDS", "60"), "CARE_CRM_POLL_SECONDS", minimum=5, maximum=86400
        ),
        "preclose_probability": _fraction(
            get("CARE_PRECLOSE_PROBABILITY"), "CARE_PRECLOSE_PROBABILITY"
        ),
        "crm_writeback": _choice(
            get("CARE_CRM_WRITEBACK", "on"), "CARE_CRM_WRITEBACK", ("on", "off")
        )
        == "on",
        **_salesforce(get),
    }


def _salesforce(get: Getter) -> dict[str, Any]:
    """All three SALESFORCE_* settings or none: half a connector is a typo, not a choice."""
    values = {name: get(name) for name in SALESFORCE_SETTINGS}
    missing = [name for name, value in values.items() if not value]
    if 0 < len(missing) < len(values):
        needs = ", ".join(SALESFORCE_SETTINGS[:-1]) + f" and {SALESFORCE_SETTINGS[-1]}"
        raise ConfigError(f"{missing[0]} is not set: the Salesforce connector needs {needs}")
    raw_version = get("SALESFORCE_API_VERSION", DEFAULT_SALESFORCE_API_VERSION)
    if not re.fullmatch(r"v?\d{2,3}\.0", raw_version):
        raise ConfigError(f"SALESFORCE_API_VERSION must be a REST API version such as "
                          f"{DEFAULT_SALESFORCE_API_VERSION}, not {raw_version!r}")  # fmt: skip
    instance = values["SALESFORCE_INSTANCE_URL"]
    org_id = get("SALESFORCE_ORG_ID")
    if org_id and not instance:
        raise ConfigError("SALESFORCE_ORG_ID is set but the Salesforce connector is not: "
                          "Outbound Messages only trigger its poll")  # fmt: skip
    if org_id and not SALESFORCE_ORG_ID.fullmatch(org_id):
        raise ConfigError(f"SALESFORCE_ORG_ID must be the org's id (15 or 18 characters "
                          f"from 00D: Setup, Company Information), not {org_id!r}")  # fmt: skip
    return {
        "salesforce_instance_url": _salesforce_url(instance) if instance else "",
        "salesforce_client_id": values["SALESFORCE_CLIENT_ID"],
        "salesforce_client_secret": values["SALESFORCE_CLIENT_SECRET"],
        "salesforce_api_version": raw_version.removeprefix("v"),
        "salesforce_org_id": org_id,
    }


def _salesforce_url(raw: str) -> str:
    """The org's My Domain origin: https (the token travels on it), no path."""
    parts = urlsplit(raw)
    example = "such as https://acme.my.salesforce.com"
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"SALESFORCE_INSTANCE_URL must be an https URL {example}, not {raw!r}")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ConfigError(f"SALESFORCE_INSTANCE_URL must be the org's URL alone {example}, "
                          f"without a path, not {raw!r}")  # fmt: skip
    return f"https://{parts.netloc}"


def _worker(get: Getter) -> dict[str, Any]:
    poll_ms = _int(get("CARE_POLL_MS", "2000"), "CARE_POLL_MS", minimum=10, maximum=60000)
    return {
        "lease_seconds": _int(
            get("CARE_LEASE_SECONDS", str(DEFAULT_LEASE_SECONDS)),
            "CARE_LEASE_SECONDS",
            minimum=1,
            maximum=3600,
        ),
        "poll_seconds": poll_ms / 1000,
        "worker_threads": _int(
            get("CARE_WORKER_THREADS", "4"), "CARE_WORKER_THREADS", minimum=1, maximum=32
        ),
    }


def _url(raw: str, name: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as https://host/, not {raw!r}")
    return raw


def _fraction(raw: str, name: str) -> float | None:
    """Empty: off. A fraction (`0.8`) or a percentage (`80`, `80%`) of a win."""
    if not raw:
        return None
    try:
        value = float(raw.removesuffix("%"))
    except ValueError:
        raise ConfigError(f"{name} must be a probability such as 0.8, not {raw!r}") from None
    value = value / 100 if value > 1 or raw.endswith("%") else value
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be above 0 and at most 1 (or 100%), not {raw!r}")
    return value


def _database_url(raw: str) -> str:
    """Refuse what SQLAlchemy cannot open, without echoing a password back."""
    example = "such as postgresql://user:password@host:5432/careintro or sqlite:///careintro.db"
    try:
        parsed = make_url(database_url(raw))
        backend, port = parsed.get_backend_name(), parsed.port  # `port` parses the number
    except (ArgumentError, ValueError):
        raise ConfigError(f"DATABASE_URL is not a database URL {example}") from None
    if backend not in DATABASE_BACKENDS:
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL or SQLite URL {example}, "
                          f"not {shown!r}")  # fmt: skip
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"DATABASE_URL has port {port}: a port is between 1 and 65535")
    return database_url(raw)


def _admins(raw: str) -> frozenset[str]:
    """A name or `@mention` here would lock everyone out of the roster: refuse it."""
    admins = [u.strip() for u in raw.split(",") if u.strip()]
    wrong = [u for u in admins if not _USER_ID.fullmatch(u)]
    if wrong:
        raise ConfigError(
            "CARE_ADMINS must list Slack user ids (U… or W…: a profile's “Copy member ID”), "
            f"not {', '.join(map(repr, wrong))}"
        )
    return frozenset(admins)


def database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and use the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(raw: str, name: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def _bool(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _choice(raw: str, name: str, choices: tuple[str, ...]) -> str:
    if raw.lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw.lower()


def _stages(raw: str, name: str) -> frozenset[str]:
    stages = frozenset(filter(None, (normalise_stage(s) for s in raw.split(","))))
    if not stages:
        raise ConfigError(f"{name} must list at least one stage")
    return stages


def _time(raw: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if not match:
        raise ConfigError(f"CARE_REMINDER_TIME must be HH:MM (24-hour), not {raw!r}")
    return time(int(match[1]), int(match[2]))


def _channel_template(raw: str) -> str:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(raw) if f is not None}
    except ValueError:
        fields = {"?"}
    if fields != {"company"}:
        raise ConfigError("CARE_CHANNEL_NAME must contain {company} and no other {field}")
    return raw
