"""What every step works with, handed to each step function of the runner's table."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_scope
from bot.flows.introduction.lease import Lease
from bot.flows.introduction.people import People
from bot.models import Deal, Introduction
from bot.store.introductions import introduction_and_deal


@dataclass(frozen=True)
class StepContext:
    """Slack, the settings, the people looked up so far, and the run's connection.

    A run spans many transactions (one or two per step, Slack calls between them), so
    it opens its own sessions, on the connection its lease holds.
    """

    client: WebClient
    settings: Settings
    lease: Lease
    people: People

    def session(self) -> AbstractContextManager[Session]:
        """One short unit of work on the run's connection (the engine outside a run)."""
        return session_scope(self.lease.db)

    def load(self, intro_id: int) -> tuple[Introduction, Deal]:
        with self.session() as session:
            return introduction_and_deal(session, intro_id=intro_id)


class StepFn(Protocol):
    """A step: acts on Slack, returns the detail recorded with it (for logs, not people)."""

    def __call__(
        self, run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool
    ) -> str: ...
