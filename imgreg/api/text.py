"""Checks on strings that come from request bodies."""

from __future__ import annotations

from typing import Any

from imgreg.domain import errors


def check_text(value: Any) -> None:
    """Refuse 4-byte UTF-8 (Glance: 400) and NUL (a 500 on PostgreSQL otherwise), in any string
    of ``value`` or of a list in it."""
    if isinstance(value, str):
        if any(ord(c) > 0xFFFF for c in value):
            raise errors.Invalid("Name can't contain 4 byte unicode characters.")
        if "\x00" in value:
            raise errors.Invalid("Strings must not contain NUL characters.")
    elif isinstance(value, list):
        for item in value:
            check_text(item)
