"""What a download says about the image's data: its ``ETag`` and its digests (RFC 9530).

Only what the image's record already holds, so nothing is read twice: the ``ETag`` of the
data is its content hash (``os_hash_value``, else the md5 ``checksum``), quoted; a strong
validator, since an image's data never changes once stored. ``Repr-Digest`` carries the
multihash when its algorithm is one RFC 9530 registers as active (``sha-512`` with the
default ``hashing_algorithm``, ``sha-256`` when configured so); it describes the whole data,
on a 206 too. ``Content-Digest`` (the bytes of this response) is the same value on a whole
download, and absent on a range, whose digest is not known without reading it.
"""

from __future__ import annotations

import base64

import webob

from imgreg.api.preconditions import quoted
from imgreg.domain.image import Image

# hashlib's name of the image's os_hash_algo -> RFC 9530's name of the algorithm
DIGEST_NAMES = {"sha512": "sha-512", "sha256": "sha-256"}


def data_etag(image: Image) -> str | None:
    value = image.os_hash_value or image.checksum
    return quoted(value) if value else None


def repr_digest(image: Image) -> str | None:
    """``<algorithm>=:<base64>:`` of the whole data, when the record holds one we may send."""
    name = DIGEST_NAMES.get(image.os_hash_algo or "")
    if name is None or not image.os_hash_value:
        return None
    try:
        raw = bytes.fromhex(image.os_hash_value)
    except ValueError:
        return None
    return f"{name}=:{base64.b64encode(raw).decode('ascii')}:"


def data_response(image: Image, whole: bool = True) -> webob.Response:
    """A download's response before its data: type, ``Content-MD5`` (Glance's), ``ETag``,
    ``Repr-Digest``, and ``Content-Digest`` when it carries the ``whole`` data."""
    response = webob.Response(content_type="application/octet-stream", charset=None)
    if image.checksum:
        response.headers["Content-MD5"] = image.checksum  # whole-image hex md5, as Glance
    etag = data_etag(image)
    if etag is not None:
        response.headers["ETag"] = etag
    digest = repr_digest(image)
    if digest is not None:
        response.headers["Repr-Digest"] = digest
        if whole:
            response.headers["Content-Digest"] = digest
    return response
