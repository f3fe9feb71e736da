"""Assertion helpers for emulator tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError


def error_of(call: Callable[..., Any], /, **kwargs: Any) -> str:
    """Run a WebClient call that must fail and return Slack's `error` string."""
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    return str(info.value.response["error"])
