"""What a test scripts on a running `FakeHubSpot`: credentials, limits, faults, webhooks."""

from __future__ import annotations

from typing import Any

from bot.emulator.common.faults import FaultScripting
from bot.emulator.hubspot.dispatch import Tokens
from bot.emulator.hubspot.faults import HubSpotFault
from bot.emulator.hubspot.limits import HubSpotLimiter
from bot.emulator.hubspot.webhooks import SignedWebhook, sign_request


class FakeControls(FaultScripting[HubSpotFault]):
    """Mixed into `FakeHubSpot`, which sets these attributes; `drop_next`, `delay_next`
    and `clear_faults` come from `FaultScripting`."""

    client_secret: str
    _tokens: Tokens
    _limiter: HubSpotLimiter
    _fault_type = HubSpotFault

    # credentials and limits -----------------------------------------------------------

    def revoke_token(self, status: int = 403) -> None:
        """From now on the token is refused: 403 MISSING_SCOPES (the private app lost its
        access) or 401 INVALID_AUTHENTICATION (the token was rotated or deleted)."""
        if status not in (401, 403):
            raise ValueError("status must be 401 or 403")
        self._tokens.refused = status

    def restore_token(self) -> None:
        self._tokens.refused = None

    def remove_scope(self, scope: str) -> None:
        self._tokens.scopes.discard(scope)

    def add_scope(self, scope: str) -> None:
        self._tokens.scopes.add(scope)

    @property
    def rate_limits(self) -> bool:
        return self._limiter.enforce

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        self._limiter.enforce = enabled

    def reset_limits(self) -> None:
        self._limiter.reset()

    # faults ---------------------------------------------------------------------------

    def fail_next(self, pattern: str, status: int = 500, *, count: int = 1) -> None:
        """The next `count` matching calls answer `status` (500, 502, 503...) untouched."""
        fault = HubSpotFault(kind="status", label=f"http_{status}", status=status, remaining=count)
        self._faults.add(pattern, fault)

    def rate_limit_next(
        self,
        pattern: str,
        retry_after: float | None = None,
        *,
        count: int = 1,
        policy: str = "TEN_SECONDLY_ROLLING",
    ) -> None:
        """The next `count` matching calls get a 429; `Retry-After` (HubSpot seconds, divided
        by `time_scale`) only when `retry_after` is given."""
        fault = HubSpotFault(
            kind="ratelimited",
            label="rate_limit_next",
            status=429,
            retry_after=retry_after,
            policy=policy,
            remaining=count,
        )
        self._faults.add(pattern, fault)

    def answer_late(self, pattern: str, seconds: float, *, count: int = 1) -> None:
        """The next `count` matching calls are carried out at once and answered `seconds`
        (real) later: the window in which a client that acted has not yet heard back
        (a test kills the process there)."""
        fault = HubSpotFault(
            kind="delay",
            label="delay_after_effect",
            after_effect=True,
            delay_seconds=seconds,
            remaining=count,
        )
        self._faults.add(pattern, fault)

    # webhooks -------------------------------------------------------------------------

    def sign_webhook(
        self,
        events: list[dict[str, Any]] | bytes,
        url: str,
        *,
        client_secret: str | None = None,
        timestamp_ms: int | None = None,
    ) -> SignedWebhook:
        """A webhook delivery of `events` to `url`, signed (v3 and v1) with the app secret."""
        return sign_request(
            events,
            url=url,
            client_secret=self.client_secret if client_secret is None else client_secret,
            timestamp_ms=timestamp_ms,
        )
