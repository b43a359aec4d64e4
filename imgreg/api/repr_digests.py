"""Digest fields (RFC 9530) on the wire: what a download says about the image's data (its
``ETag`` and ``Repr-Digest``), and what an upload's ``Repr-Digest`` asks to be checked.

Only what the image's record already holds, so nothing is read twice: the ``ETag`` of the
data is its content hash (``os_hash_value``, else the md5 ``checksum``), quoted; a strong
validator, since an image's data never changes once stored. ``Repr-Digest`` carries every
digest of the data the record holds that RFC 9530 registers as active: ``sha-256`` (the data's
``data_sha256``, hashed on upload with ``upload_sha256``, or the multihash under
``hashing_algorithm = sha256``) and ``sha-512`` (the default multihash), in that order; it
describes the whole data, on a 206 too. ``Content-Digest`` (the bytes of this response) is
the same value on a whole download; on a range it is computed only when asked for and small
enough (``imgreg.api.content_digest``).

On an upload, ``Repr-Digest`` is a structured-field dictionary (RFC 8941) of
``algorithm=:base64:`` members: ``sha-256`` and ``sha-512`` are verified before the image
takes the data (``imgreg.integrity.expected``); other algorithms are ignored, as RFC 9530
allows, but a field with neither of those two is refused, so that a client never believes
its data was checked when it was not. A malformed field (not a dictionary of byte sequences,
a digest of the wrong length, more than ``MAX_MEMBERS`` members) is 400.
"""

from __future__ import annotations

import base64
import binascii
import re

import webob

from imgreg.api.validators import quoted
from imgreg.domain import errors
from imgreg.domain.image import Image

# hashlib's name of the image's os_hash_algo -> RFC 9530's name of the algorithm
DIGEST_NAMES = {"sha512": "sha-512", "sha256": "sha-256"}


def data_etag(image: Image) -> str | None:
    value = image.os_hash_value or image.checksum
    return quoted(value) if value else None


def _member(name: str, hex_value: str | None) -> str | None:
    try:
        raw = bytes.fromhex(hex_value or "")
    except ValueError:
        return None
    return f"{name}=:{base64.b64encode(raw).decode('ascii')}:" if raw else None


def repr_digest(image: Image) -> str | None:
    """``<algorithm>=:<base64>:`` members of the whole data, when the record holds any we
    may send."""
    digests = {"sha-256": image.data_sha256}
    name = DIGEST_NAMES.get(image.os_hash_algo or "")
    if name is not None and image.os_hash_value:
        digests[name] = image.os_hash_value
    members = [_member(rfc_name, digests.get(rfc_name)) for rfc_name in ("sha-256", "sha-512")]
    return ", ".join(member for member in members if member) or None


def add_data_headers(response: webob.Response, image: Image, whole: bool = True) -> None:
    """``ETag``, ``Repr-Digest``, and ``Content-Digest`` when the response carries the
    ``whole`` data."""
    etag = data_etag(image)
    if etag is not None:
        response.headers["ETag"] = etag
    digest = repr_digest(image)
    if digest is not None:
        response.headers["Repr-Digest"] = digest
        if whole:
            response.headers["Content-Digest"] = digest


def data_response(image: Image) -> webob.Response:
    """The headers of a whole download, without its data (HEAD): type, ``Content-MD5``
    (Glance's) and the above."""
    response = webob.Response(content_type="application/octet-stream", charset=None)
    if image.checksum:
        response.headers["Content-MD5"] = image.checksum  # whole-image hex md5, as Glance
    add_data_headers(response, image)
    return response


# -- uploads ------------------------------------------------------------------------------

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
