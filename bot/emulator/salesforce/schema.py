"""The slice of a Salesforce org's schema the fake knows: objects, fields, relationships.

Field names, types and key prefixes are the standard objects' (SOAP API Developer Guide,
"Standard Objects": Opportunity 006, Account 001, Contact 003, User 005,
OpportunityContactRole 00K, Task 00T). Lookups are case-insensitive as in SOQL; answers
use the canonical spelling. `IsClosed`/`IsWon` and the default `Probability` come from
the stage (Setup's OpportunityStage list), so a test moves a stage and gets all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    kind: (
        str  # id, reference, string, textarea, picklist, boolean, currency, percent, date, datetime
    )
    createable: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Relationship:
    """A lookup followed with a dot (`Account.Name`): `via` holds the target's id."""

    name: str
    via: str
    target: str


@dataclass(frozen=True)
class ChildRelationship:
    """A parent-to-child subquery's FROM (`OpportunityContactRoles`)."""

    name: str
    child: str
    via: str  # the child's field holding the parent id


@dataclass
class SObject:
    name: str
    prefix: str
    fields: dict[str, Field]
    relationships: dict[str, Relationship] = field(default_factory=dict)
    children: dict[str, ChildRelationship] = field(default_factory=dict)

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> Relationship | None:
        return self.relationships.get(name.lower())

    def child(self, name: str) -> ChildRelationship | None:
        return self.children.get(name.lower())


def _fields(*specs: tuple[str, str] | Field) -> dict[str, Field]:
    made = [s if isinstance(s, Field) else Field(*s) for s in specs]
    return {f.name.lower(): f for f in made}


_AUDIT = (
    ("CreatedDate", "datetime"),
    ("LastModifiedDate", "datetime"),
    ("SystemModstamp", "datetime"),
    ("IsDeleted", "boolean"),
)


def _object(
    name: str,
    prefix: str,
    fields: dict[str, Field],
    relationships: tuple[Relationship, ...] = (),
    children: tuple[ChildRelationship, ...] = (),
) -> SObject:
    return SObject(
        name,
        prefix,
        {**_fields(("Id", "id"), *_AUDIT), **fields},
        {r.name.lower(): r for r in relationships},
        {c.name.lower(): c for c in children},
    )


def _writable(name: str, kind: str, max_length: int | None = None) -> Field:
    return Field(name, kind, createable=True, max_length=max_length)


SCHEMA: dict[str, SObject] = {
    o.name.lower(): o
    for o in (
        _object("Account", "001", _fields(("Name", "string"), ("OwnerId", "reference"))),
        _object(
            "User",
            "005",
            _fields(
                ("Email", "string"),
                ("FirstName", "string"),
                ("LastName", "string"),
                ("Name", "string"),
                ("Username", "string"),
                ("IsActive", "boolean"),
            ),
        ),
        _object(
            "Contact",
            "003",
            _fields(
                ("Email", "string"),
                ("FirstName", "string"),
                ("LastName", "string"),
                ("Name", "string"),
                ("AccountId", "reference"),
            ),
            (Relationship("Account", "AccountId", "Account"),),
        ),
        _object(
            "Opportunity",
            "006",
            _fields(
                ("Name", "string"),
                ("StageName", "picklist"),
                ("Amount", "currency"),
                ("CloseDate", "date"),
                ("IsClosed", "boolean"),
                ("IsWon", "boolean"),
                ("Probability", "percent"),
                ("AccountId", "reference"),
                ("OwnerId", "reference"),
            ),
            (
                Relationship("Account", "AccountId", "Account"),
                Relationship("Owner", "OwnerId", "User"),
            ),
            (
                ChildRelationship(
                    "OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"
                ),
                ChildRelationship("Tasks", "Task", "WhatId"),
            ),
        ),
        _object(
            "OpportunityContactRole",
            "00K",
            _fields(
                ("OpportunityId", "reference"),
                ("ContactId", "reference"),
                ("IsPrimary", "boolean"),
                ("Role", "picklist"),
            ),
            (
                Relationship("Contact", "ContactId", "Contact"),
                Relationship("Opportunity", "OpportunityId", "Opportunity"),
            ),
        ),
        _object(
            "Task",
            "00T",
            _fields(
                _writable("WhatId", "reference"),
                _writable("WhoId", "reference"),
                _writable("OwnerId", "reference"),
                _writable("Subject", "string", 255),
                _writable("Status", "picklist"),
                _writable("Priority", "picklist"),
                _writable("Description", "textarea", 32_000),
                _writable("ActivityDate", "date"),
                _writable("Type", "picklist"),
                _writable("TaskSubtype", "picklist"),
                ("IsClosed", "boolean"),
            ),
            (Relationship("Owner", "OwnerId", "User"),),
        ),
    )
}

PREFIXES: dict[str, str] = {o.prefix: o.name for o in SCHEMA.values()}

# Task's standard picklists (restricted in the fake, as an org with default settings).
TASK_STATUSES: dict[str, bool] = {  # value -> IsClosed
    "Not Started": False,
    "In Progress": False,
    "Completed": True,
    "Waiting on someone else": False,
    "Deferred": False,
}
TASK_PRIORITIES = ("High", "Normal", "Low")
TASK_SUBTYPES = ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")


@dataclass(frozen=True)
class Stage:
    """A row of Setup → Opportunity Stages: its default probability and closed/won flags."""

    name: str
    probability: float
    closed: bool = False
    won: bool = False


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("Prospecting", 10),
    Stage("Qualification", 10),
    Stage("Needs Analysis", 20),
    Stage("Value Proposition", 50),
    Stage("Id. Decision Makers", 60),
    Stage("Perception Analysis", 70),
    Stage("Proposal/Price Quote", 75),
    Stage("Negotiation/Review", 90),
    Stage("Closed Won", 100, closed=True, won=True),
    Stage("Closed Lost", 0, closed=True),
)


def sobject(name: str) -> SObject | None:
    return SCHEMA.get(name.lower())
