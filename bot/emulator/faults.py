"""Injected failures: scripted ones (`fail_next`, `drop_next`, ...) and seeded random ones.

Faults let crash and retry tests reproduce what real Slack does on a bad day: an error
answer, a 5xx, a 429, a connection closed before or after the work was done, or a call
that never returns.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

RANDOM_KINDS = ("429", "500", "drop", "drop_after")  # drop_after: done, then dropped


@dataclass
class Fault:
    """One scripted outcome. `kind` is "error", "status", "ratelimited", "drop" or
    "answer" (`body` as the answer, with no effect)."""

    kind: str
    label: str
    error: str | None = None
    status: int = 200
    retry_after: float = 1.0
    after_effect: bool = False
    remaining: int = 1
    body: dict[str, object] | None = None


@dataclass
class Hang:
    """Calls to a method wait on `event` (before or after their effect)."""

    event: threading.Event
    after_effect: bool


@dataclass
class RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[str, ...]
    methods: frozenset[str] | None


class FaultPlan:
    """Per-method fault queues (first in, first out) plus hangs and random faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self._hangs: dict[str, Hang] = {}
        self._random: RandomFaults | None = None

    def add(self, method: str, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queues.setdefault(method, deque()).append(fault)

    def hang(self, method: str, *, after_effect: bool) -> threading.Event:
        event = threading.Event()
        with self._lock:
            previous = self._hangs.get(method)
            self._hangs[method] = Hang(event, after_effect)
        if previous:
            previous.event.set()
        return event

    def set_random(
        self, *, rate: float, seed: int, kinds: Iterable[str], methods: Iterable[str] | None
    ) -> None:
        kinds = tuple(kinds)
        unknown = set(kinds) - set(RANDOM_KINDS)
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {RANDOM_KINDS}")
        with self._lock:
            self._random = RandomFaults(
                rate=rate,
                rng=random.Random(seed),
                kinds=kinds,
                methods=frozenset(methods) if methods is not None else None,
            )

    def take(self, method: str) -> Fault | None:
        """The fault for this call, if any: scripted ones first, then a random draw."""
        with self._lock:
            queue = self._queues.get(method)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining == 0:
                    queue.popleft()
                return replace(fault, remaining=1)
            return self._draw(method)

    def _draw(self, method: str) -> Fault | None:
        plan = self._random
        if plan is None or (plan.methods is not None and method not in plan.methods):
            return None
        if plan.rng.random() >= plan.rate:
            return None
        kind = plan.rng.choice(plan.kinds)
        if kind == "429":
            return Fault("ratelimited", "random:429", error="ratelimited", status=429)
        if kind == "500":
            return Fault("status", "random:500", error="internal_error", status=500)
        if kind == "drop_after":
            return Fault("drop", "random:drop_after", after_effect=True)
        return Fault("drop", "random:drop")

    def hang_for(self, method: str) -> Hang | None:
        with self._lock:
            hang = self._hangs.get(method)
        return hang if hang and not hang.event.is_set() else None

    def release_all(self) -> None:
        with self._lock:
            hangs = list(self._hangs.values())
        for hang in hangs:
            hang.event.set()

    def clear(self) -> None:
        """Forget every fault; requests currently hung are released, not stranded."""
        self.release_all()
        with self._lock:
            self._queues.clear()
            self._hangs.clear()
            self._random = None
