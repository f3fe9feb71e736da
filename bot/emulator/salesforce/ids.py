"""Salesforce record ids: 15 case-sensitive characters plus the 3-character suffix that
makes the 18-character form case-insensitive.

The suffix algorithm is the documented one (Salesforce Help, "What is a Case-Safe ID"):
each 5-character chunk of the 15-character id gives 5 bits (1 where a character is an
uppercase letter, least significant first), each looked up in A-Z0-5. The API answers
18-character ids and accepts both forms, so the fake does too.
"""

from __future__ import annotations

import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"
_ID_CHARS = set(_BASE62)


def _suffix(id15: str) -> str:
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        out.append(_SUFFIX[bits])
    return "".join(out)


def make_id(prefix: str, number: int, pod: str = "Dn") -> str:
    """The 18-character id of the `number`th record with key prefix `prefix`."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    id15 = f"{prefix}{pod}0{digits.rjust(9, '0')}"
    return id15 + _suffix(id15)


def to18(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not one."""
    if len(value) not in (15, 18) or not set(value) <= _ID_CHARS:
        return None
    if len(value) == 18:
        return value if _suffix(value[:15]) == value[15:].upper() else None
    return value + _suffix(value)


def canonical(value: str) -> str | None:
    """An 18-character id with its 15 significant characters restored from any-case input."""
    id18 = to18(value)
    if id18 is None and len(value) == 18:
        id18 = _restore_case(value)
    return id18


def _restore_case(value: str) -> str | None:
    """An 18-character id whose case was lost: the suffix says which letters are upper."""
    suffix = value[15:].upper()
    if not set(suffix) <= set(_SUFFIX):
        return None
    chars = list(value[:15].lower())
    for chunk, code in enumerate(suffix):
        bits = _SUFFIX.index(code)
        for i in range(5):
            if bits >> i & 1:
                chars[chunk * 5 + i] = chars[chunk * 5 + i].upper()
    id15 = "".join(chars)
    return id15 + suffix if _suffix(id15) == suffix else None
