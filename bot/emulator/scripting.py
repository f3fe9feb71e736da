"""Scripted faults any fake can offer its tests: errors, 5xx, 429, drops and hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from bot.emulator.faults import Fault, FaultPlan


class FaultScripting:
    """What a test says should go wrong next; the fake's dispatcher carries it out."""

    _faults: FaultPlan

    def _known(self, method: str) -> str:
        raise NotImplementedError

    def fail_next(
        self, method: str, error: str | None = None, *, status: int = 200, count: int = 1
    ) -> None:
        """The next `count` calls answer `{"ok": false, "error": error}` with HTTP `status`
        and no effect. `error` defaults to `channel_not_found` (or `internal_error` for 5xx)."""
        error = error or ("internal_error" if status >= 500 else "channel_not_found")
        label = "fail_next" if status == 200 else f"http_{status}"
        fault = Fault("status", label, error=error, status=status, remaining=count)
        self._faults.add(self._known(method), fault)

    def answer_next(self, method: str, body: dict[str, object], *, count: int = 1) -> None:
        """The next `count` calls answer `body` (HTTP 200) and do nothing: an answer of a
        shape the client does not expect (a proxy's, or a field Slack stopped sending)."""
        fault = Fault("answer", "answer_next", body=dict(body), remaining=count)
        self._faults.add(self._known(method), fault)

    def rate_limit_next(self, method: str, retry_after: float = 1, *, count: int = 1) -> None:
        """The next `count` calls get HTTP 429; `retry_after` is in Slack seconds, so it is
        divided by `time_scale` like real limits are."""
        fault = Fault(
            "ratelimited",
            "rate_limit_next",
            error="ratelimited",
            status=429,
            retry_after=retry_after,
            remaining=count,
        )
        self._faults.add(self._known(method), fault)

    def drop_next(self, method: str, count: int = 1, *, after_effect: bool = False) -> None:
        """Close the connection without answering; with `after_effect` the call is carried
        out first ("Slack did it but we never heard back")."""
        label = "drop_after_effect" if after_effect else "drop"
        fault = Fault("drop", label, after_effect=after_effect, remaining=count)
        self._faults.add(self._known(method), fault)

    def hang(self, method: str, *, after_effect: bool = False) -> threading.Event:
        """Calls to `method` block (after their effect, if asked) until the returned event
        is set, `release_all()` is called or the server stops."""
        return self._faults.hang(self._known(method), after_effect=after_effect)

    def release_all(self) -> None:
        self._faults.release_all()

    def random_faults(
        self,
        rate: float = 0.2,
        seed: int = 1,
        kinds: Iterable[str] = ("429", "500", "drop"),
        methods: Iterable[str] | None = None,
    ) -> None:
        """Seeded random failures (429 with Retry-After of 1 Slack second, HTTP 500, or a
        drop before the effect) on `methods` (default: all), after scripted faults.
        `"drop_after"` among `kinds` also drops some calls after their effect ("Slack did
        it but we never heard back"), as `drop_next(after_effect=True)` does."""
        methods = [self._known(m) for m in methods] if methods is not None else None
        self._faults.set_random(rate=rate, seed=seed, kinds=kinds, methods=methods)

    def clear_faults(self) -> None:
        """Forget scripted, hanging and random faults (hung calls are released)."""
        self._faults.clear()
