"""Checks on strings that come from request bodies and paths."""

from __future__ import annotations

from typing import Any

from imgreg.domain import errors


def check_text(value: Any) -> None:
    """Refuse 4-byte UTF-8 (Glance: 400), NUL (a 500 on PostgreSQL otherwise) and lone
    surrogates (``"\\ud800"`` in JSON: not encodable, so no database can store them), in any
    string of ``value``, or of a list or object (keys too) in it."""
    if isinstance(value, str):
        if any(ord(c) > 0xFFFF for c in value):
            raise errors.Invalid("Name can't contain 4 byte unicode characters.")
        if "\x00" in value:
            raise errors.Invalid("Strings must not contain NUL characters.")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise errors.Invalid("Strings must not contain unpaired surrogates.")
    elif isinstance(value, list):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)


def check_value_size(name: str, value: Any, limit: int) -> None:
    """A string value of property ``name`` must fit in ``limit`` bytes of UTF-8."""
    if isinstance(value, str) and len(value) * 3 > limit and len(value.encode()) > limit:
        raise errors.Invalid(f"Value of property {name[:64]} is too long (at most {limit} bytes).")
