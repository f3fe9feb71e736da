"""Waiting for what a process, a worker or a fake does in its own time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    predicate: Callable[[], Any],
    what: str = "a condition",
    timeout: float = 20,
    shown: Callable[[], str] = lambda: "",
) -> Any:
    """Until `predicate()` is truthy, which is returned; on time-out the failure names
    `what` and shows `shown()` (a process's log, say)."""
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{shown()}"
        time.sleep(0.05)
    return found
