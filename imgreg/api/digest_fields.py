"""``Repr-Digest`` on an upload (RFC 9530): the digests the client says its data has.

The field is a structured-field dictionary (RFC 8941) of ``algorithm=:base64:`` members:
``sha-256`` and ``sha-512`` are verified before the image takes the data; other algorithms
are ignored, as RFC 9530 allows, but a field with neither of those two is refused, so that a
client never believes its data was checked when it was not. A malformed field (not a
dictionary of byte sequences, a digest of the wrong length, more than ``MAX_MEMBERS``
members) is 400.
"""

from __future__ import annotations

import base64
import binascii
import re

from imgreg.domain import errors

# RFC 9530's name -> (hashlib's name, digest length in bytes)
VERIFIED = {"sha-256": ("sha256", 32), "sha-512": ("sha512", 64)}
MAX_MEMBERS = 16
# key "=" ":" base64 ":" (sf-binary), parameters not allowed: RFC 9530 defines none
MEMBER = re.compile(r"([a-z*][a-z0-9_\-.*]{0,63})=:([A-Za-z0-9+/=]*):")


def malformed(detail: str) -> errors.Invalid:
    return errors.Invalid(f"Invalid Repr-Digest header: {detail}")


def parse_repr_digest(header: str | None) -> tuple[tuple[str, bytes], ...]:
    """``(hashlib name, expected digest)`` of each verified algorithm in ``header``; ``()``
    when there is no header."""
    if header is None:
        return ()
    members = [m.strip(" \t") for m in header.split(",")]
    if len(members) > MAX_MEMBERS:
        raise malformed(f"more than {MAX_MEMBERS} digests.")
    found: dict[str, bytes] = {}
    for member in members:
        match = MEMBER.fullmatch(member)
        if match is None:
            raise malformed("expected algorithm=:base64: members separated by commas.")
        name, text = match.groups()
        try:
            value = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise malformed(f"the value of {name} is not base64.") from None
        if name in VERIFIED:
            algo, length = VERIFIED[name]
            if len(value) != length:
                raise malformed(f"a {name} digest is {length} bytes, not {len(value)}.")
            found[algo] = value  # a repeated key: the last one counts (RFC 8941)
    if not found:
        raise malformed(f"none of the supported algorithms ({', '.join(VERIFIED)}).")
    return tuple(sorted(found.items()))
