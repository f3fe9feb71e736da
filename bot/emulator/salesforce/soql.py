"""A SOQL parser for the queries a CRM connector sends, with Salesforce's error text.

Grammar (SOQL and SOSL Reference): `SELECT field, Rel.field, (SELECT ... FROM ChildRel
[WHERE] [ORDER BY] [LIMIT]) FROM Object [WHERE cond AND cond ...] [ORDER BY path [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`; a condition is `path op literal` (`=`,
`!=`, `<>`, `<`, `<=`, `>`, `>=`) or `path [NOT] IN (literal, ...)`; literals are
'quoted strings' (backslash escapes), unquoted dateTimes (`2026-01-01T00:00:00Z`, an
offset, optional fraction) and dates, numbers, TRUE/FALSE/NULL. Keywords are
case-insensitive. Errors carry the position the way Salesforce's do:
"\\n<query line>\\n   ^\\nERROR at Row:1:Column:4\\n<reason>". OR, NOT (...), date
literals like TODAY and aggregates are outside the fake: they answer MALFORMED_QUERY with
a reason that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?(?:Z|[+-]\d\d:\d\d))
    |(?P<date>\d{4}-\d\d-\d\d)
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
KEYWORDS = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "true",
        "false",
        "null",
    ]
)


class SoqlError(Exception):
    """A refused query: Salesforce's `errorCode` and the full `message` text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Token:
    kind: str  # string, datetime, date, number, ident, op, punct, eof
    text: str
    offset: int

    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string, datetime, date, number, boolean, null, list
    value: Any
    offset: int


@dataclass(frozen=True)
class Condition:
    path: Path
    op: str  # = != < <= > >= in notin
    value: Literal


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool = False
    nulls_last: bool = False


@dataclass
class Select:
    fields: list[Path | Select]
    source: str
    source_offset: int
    where: list[Condition] = field(default_factory=list)
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def error_at(text: str, offset: int, code: str, reason: str) -> SoqlError:
    """Salesforce's positioned message: the query's row, a caret, Row:Column, the reason."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : end if end >= 0 else len(text)]
    row, column = text.count("\n", 0, offset) + 1, offset - start + 1
    caret = " " * (column - 1) + "^"
    return SoqlError(code, f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}")


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            bad = text[position:].split()[0]
            raise error_at(text, position, "MALFORMED_QUERY", f"unexpected token: '{bad}'")
        if found.lastgroup != "ws":
            tokens.append(Token(found.lastgroup or "", found.group(), position))
        position = found.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.at = text, tokenize(text), 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: Token, reason: str | None = None) -> SoqlError:
        shown = "<EOF>" if token.kind == "eof" else f"'{token.text}'"
        return error_at(
            self.text, token.offset, "MALFORMED_QUERY", reason or f"unexpected token: {shown}"
        )

    def expect_word(self, *words: str) -> Token:
        token = self.take()
        if token.word() not in words:
            raise self.fail(token)
        return token

    def accept_word(self, *words: str) -> bool:
        if self.peek.word() in words:
            self.at += 1
            return True
        return False

    def accept(self, text: str) -> bool:
        if self.peek.kind == "punct" and self.peek.text == text:
            self.at += 1
            return True
        return False

    def path(self) -> Path:
        token = self.take()
        if token.kind != "ident" or token.word() in KEYWORDS:
            raise self.fail(token)
        return Path(tuple(token.text.split(".")), token.offset)

    def select(self, *, nested: bool = False) -> Select:
        self.expect_word("select")
        fields: list[Path | Select] = [self.item()]
        while self.accept(","):
            fields.append(self.item())
        self.expect_word("from")
        source = self.path()
        query = Select(fields, source.text, source.offset)
        if self.accept_word("where"):
            query.where = self.conditions()
        if self.accept_word("order"):
            self.expect_word("by")
            query.order = [self.order_item()]
            while self.accept(","):
                query.order.append(self.order_item())
        if self.accept_word("limit"):
            query.limit = self.integer()
        if not nested and self.accept_word("offset"):
            query.offset = self.integer()
        return query

    def item(self) -> Path | Select:
        if self.accept("("):
            sub = self.select(nested=True)
            if not self.accept(")"):
                raise self.fail(self.peek)
            return sub
        return self.path()

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail(token)
        return int(token.text)

    def order_item(self) -> OrderItem:
        path = self.path()
        descending = self.accept_word("desc")
        if not descending:
            self.accept_word("asc")
        nulls_last = descending
        if self.accept_word("nulls"):
            nulls_last = self.expect_word("first", "last").word() == "last"
        return OrderItem(path, descending, nulls_last)

    def conditions(self) -> list[Condition]:
        found = [self.condition()]
        while self.accept_word("and"):
            found.append(self.condition())
        if self.peek.word() == "or":
            raise self.fail(self.peek, "unexpected token: 'OR' (FakeSalesforce supports AND only)")
        return found

    def condition(self) -> Condition:
        if self.peek.kind == "punct" and self.peek.text == "(":
            raise self.fail(self.peek, "unexpected token: '(' (FakeSalesforce: no grouping)")
        path = self.path()
        negated = self.accept_word("not")
        if negated or self.peek.word() == "in":
            self.expect_word("in")
            return Condition(path, "notin" if negated else "in", self.literal_list())
        token = self.take()
        if token.kind != "op":
            raise self.fail(token)
        return Condition(path, "!=" if token.text == "<>" else token.text, self.literal())

    def literal_list(self) -> Literal:
        start = self.peek
        if not self.accept("("):
            raise self.fail(start)
        values = [self.literal()]
        while self.accept(","):
            values.append(self.literal())
        if not self.accept(")"):
            raise self.fail(self.peek)
        return Literal("list", values, start.offset)

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), token.text[1:-1])
            return Literal("string", body, token.offset)
        if token.kind in ("datetime", "date"):
            return Literal(token.kind, token.text, token.offset)
        if token.kind == "number":
            return Literal("number", float(token.text), token.offset)
        word = token.word()
        if word in ("true", "false"):
            return Literal("boolean", word == "true", token.offset)
        if word == "null":
            return Literal("null", None, token.offset)
        if token.kind == "ident":
            raise self.fail(
                token,
                f"unexpected token: '{token.text}' (FakeSalesforce: no date "
                "literals such as TODAY or LAST_N_DAYS)",
            )
        raise self.fail(token)


def parse(text: str) -> Select:
    """The query's syntax tree; SoqlError(MALFORMED_QUERY) when it is not SOQL we know."""
    parser = _Parser(text)
    query = parser.select()
    if parser.peek.kind != "eof":
        raise parser.fail(parser.peek)
    return query
