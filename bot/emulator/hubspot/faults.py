"""HubSpot's own fault kinds on top of the shared glob fault plan (`bot.emulator.common`).

Kinds: `status` (a 5xx in HubSpot's error shape), `ratelimited` (429 with HubSpot's
`policyName`, with or without `Retry-After`), and the shared `drop` and `delay`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.emulator.common.faults import Fault


@dataclass(kw_only=True)
class HubSpotFault(Fault):
    """`retry_after` is in HubSpot seconds (divided by the limiter's `time_scale`)."""

    policy: str = "TEN_SECONDLY_ROLLING"  # the 429 body's policyName
