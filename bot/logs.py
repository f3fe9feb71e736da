"""Logging set-up: records never carry a token, a secret or a full email address.

Redaction happens where records are made (a log record factory), so it covers every
logger, slack_sdk's and Bolt's included, whatever handler writes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{4,}")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b")
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    text = _TOKEN.sub("[token]", text)
    for secret in _secrets:
        text = text.replace(secret, "[secret]")
    return _EMAIL.sub(r"\1***@\2", text)


def configure_logging(level: str | int = "INFO", *, secrets: Iterable[str] = ()) -> None:
    """Plain, greppable lines on stderr, redacted; safe to call more than once."""
    global _installed
    _secrets.update(s for s in secrets if s and len(s) >= 6)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # a badly formatted record stays as it was; logging must not raise
            return record
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True
