"""``Content-Digest`` of a range (RFC 9530): the digest of the bytes a 206 sends, which the
record does not hold (``Repr-Digest``, the whole data's, does not change with the range).

WSGI has no trailers, so the digest must be known before the first byte goes out: it is
computed only when the client asks for it (``Want-Content-Digest`` naming ``sha-256`` or
``sha-512`` with a preference above 0) and the range is at most ``MAX_HASHED_RANGE``
bytes, by reading the range once to hash it (block by block: memory stays flat) before the
range is opened again to be sent. A larger range, or none asked for: no ``Content-Digest``
on the 206, as before. A ``Want-*`` field is advice (RFC 9530 section 4): one that does not
parse, or names nothing we compute, is ignored, never an error.

``Want-Repr-Digest`` changes nothing: a download's ``Repr-Digest`` already carries every
whole-data digest the record holds (``sha-256`` and ``sha-512`` by default,
``imgreg.api.repr_digests``), which RFC 9530 lets the server send whatever was preferred.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

from imgreg.domain.ports import BlobReader

MAX_HASHED_RANGE = 64 * 1024 * 1024  # two reads of this much: about 0.3 s of one core
# RFC 9530's name -> hashlib's
COMPUTED = {"sha-256": "sha256", "sha-512": "sha512"}
_MEMBER = re.compile(r"([a-z*][a-z0-9_\-.*]{0,63})(?:=([0-9]{1,2}))?")
MAX_MEMBERS = 16


def wanted(header: str | None) -> list[str]:
    """The algorithms (hashlib names) a ``Want-*-Digest`` field accepts that we compute, most
    preferred first; ``[]`` for no field or one that does not parse."""
    if not header:
        return []
    members = [m.strip(" \t") for m in header.split(",")]
    if len(members) > MAX_MEMBERS:
        return []
    ranked: list[tuple[int, str]] = []
    for member in members:
        match = _MEMBER.fullmatch(member)
        if match is None:
            return []  # a field that fails to parse is ignored whole (RFC 8941)
        name, weight = match.group(1), int(match.group(2) or 1)  # a bare key is true: 1
        if weight > 10:
            return []
        if name in COMPUTED and weight > 0:
            ranked.append((weight, COMPUTED[name]))
    ranked.sort(key=lambda pair: -pair[0])  # stable: equal weights keep the field's order
    return [algo for _, algo in ranked]


def range_digest(want: str | None, length: int, open_range: Callable[[], BlobReader]) -> str | None:
    """``Content-Digest`` for a range of ``length`` bytes that ``open_range`` reads, when
    ``want`` (the request's ``Want-Content-Digest``) asks for one and it is small enough."""
    algos = wanted(want)
    if not algos or length > MAX_HASHED_RANGE:
        return None
    digest = hashlib.new(algos[0])
    reader = open_range()
    try:
        for block in reader:
            digest.update(block)
    finally:
        reader.close()
    name = next(rfc for rfc, algo in COMPUTED.items() if algo == algos[0])
    return f"{name}=:{base64.b64encode(digest.digest()).decode('ascii')}:"
