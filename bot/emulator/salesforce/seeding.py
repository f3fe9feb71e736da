"""Seeding a `FakeSalesforce` and what people do in Salesforce: users, accounts,
contacts, opportunities with contact roles, stage changes that bump SystemModstamp."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from bot.emulator.salesforce.schema import Stage
from bot.emulator.salesforce.store import Org, format_date, format_datetime, parse_datetime

Moment = str | float | None


class FakeSeeding:
    """Mixed into `FakeSalesforce`, which sets `_org`. Ids returned are 18 characters."""

    _org: Org

    # seeding ----------------------------------------------------------------------------

    def _add(self, object_name: str, values: dict[str, Any], at: Moment = None) -> str:
        with self._org.lock:
            return self._org.add(object_name, values, at=_moment(at))

    def add_user(self, email: str, first_name: str = "", last_name: str = "") -> str:
        name = f"{first_name} {last_name}".strip() or email
        values = {
            "Email": email,
            "FirstName": first_name or None,
            "LastName": last_name,
            "Name": name,
            "Username": email,
            "IsActive": True,
        }
        return self._add("User", values)

    def add_account(self, name: str) -> str:
        return self._add("Account", {"Name": name})

    def add_contact(
        self,
        email: str | None,
        first_name: str = "",
        last_name: str = "",
        *,
        account_id: str | None = None,
    ) -> str:
        name = f"{first_name} {last_name}".strip()
        values = {
            "Email": email,
            "FirstName": first_name or None,
            "LastName": last_name,
            "Name": name,
            "AccountId": account_id,
        }
        return self._add("Contact", values)

    def add_stage(
        self, name: str, probability: float, *, closed: bool = False, won: bool = False
    ) -> None:
        """A custom opportunity stage (Setup → Opportunity Stages)."""
        with self._org.lock:
            self._org.stages[name.lower()] = Stage(name, probability, closed, won)

    def add_opportunity(
        self,
        name: str,
        *,
        stage: str = "Prospecting",
        amount: float | None = None,
        close_date: str | date = "2026-06-30",
        account_id: str | None = None,
        owner_id: str | None = None,
        probability: float | None = None,
        contact_ids: Iterable[str] = (),
        primary_contact_id: str | None = None,
        modstamp: Moment = None,
    ) -> str:
        """An Opportunity, with a contact role per contact (`primary_contact_id` primary;
        the first one when not given). `modstamp` sets its SystemModstamp."""
        values: dict[str, Any] = {
            "Name": name,
            "StageName": stage,
            "CloseDate": format_date(close_date),
            "Amount": None if amount is None else float(amount),
            "AccountId": account_id,
            "OwnerId": owner_id or self._org.integration_user,
        }
        if probability is not None:
            values["Probability"] = float(probability)
        contacts = list(contact_ids)
        primary = primary_contact_id or (contacts[0] if contacts else None)
        with self._org.lock:
            opportunity = self._add("Opportunity", values, modstamp)
            for contact in contacts:
                self.add_contact_role(opportunity, contact, primary=contact == primary)
            return opportunity

    def add_contact_role(
        self,
        opportunity_id: str,
        contact_id: str,
        *,
        primary: bool = False,
        role: str | None = "Decision Maker",
    ) -> str:
        values = {
            "OpportunityId": opportunity_id,
            "ContactId": contact_id,
            "IsPrimary": primary,
            "Role": role,
        }
        return self._add("OpportunityContactRole", values)

    # what people do in Salesforce -------------------------------------------------------

    def update_opportunity(
        self, opportunity_id: str, *, modstamp: Moment = None, **fields: Any
    ) -> str:
        """Save the Opportunity with `fields` (API names: StageName, Amount, ...); a stage
        change moves IsClosed/IsWon/Probability. Returns the new SystemModstamp."""
        if "CloseDate" in fields:
            fields["CloseDate"] = format_date(fields["CloseDate"])
        for name in ("Amount", "Probability"):
            if fields.get(name) is not None:
                fields[name] = float(fields[name])
        with self._org.lock:
            record = self._org.update("Opportunity", opportunity_id, fields, at=_moment(modstamp))
            return format_datetime(record["SystemModstamp"])

    def touch(self, opportunity_id: str, *, modstamp: Moment = None) -> str:
        """A save that changes nothing visible (a workflow, a rollup) but bumps the stamp."""
        return self.update_opportunity(opportunity_id, modstamp=modstamp)

    def delete_opportunity(self, opportunity_id: str) -> None:
        with self._org.lock:
            self._org.update("Opportunity", opportunity_id, {"IsDeleted": True})


def _moment(at: Moment) -> float | None:
    return None if at is None else parse_datetime(at)
