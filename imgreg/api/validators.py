"""Entity tags and the conditional requests on them (RFC 9110, section 13).

An image's ``ETag`` is its record's revision (``images.revision``), a strong validator: every
change of the record increments it. ``If-Match`` on a write (PATCH, DELETE, the actions) names
the revisions the client's change is based on; the write then happens only while the record
is still at the one loaded (checked by the database in the same statement as the write), so
two clients that both read revision 7 cannot both write: one gets 412. ``If-None-Match`` on a
read is 304 when nothing changed; ``If-Range`` on a download serves the range only while the
data is still the one the client has part of, and ``If-Match`` on an upload (``PUT /file``,
``/stage``) starts it only on the record the client last saw. Without these headers nothing
changes: Glance's behaviour.

Header values are read leniently and never fail: a list element that is not an entity-tag is
skipped, so a garbage ``If-Match`` matches nothing (412, nothing written) and a garbage
``If-None-Match`` matches nothing (the full answer).
"""

from __future__ import annotations

import re

import webob

from imgreg.domain.image import Image

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
NO_REVISION = 0  # revisions start at 1: requiring 0 never matches


def quoted(opaque: str) -> str:
    return f'"{opaque}"'


def image_etag(image: Image) -> str:
    return quoted(str(image.revision))


def entity_tags(header: str) -> list[tuple[bool, str]]:
    """``(weak, opaque)`` of each element of a list header that is exactly one entity-tag,
    in order. Split on every comma: a tag with a comma in it is never one of ours anyway."""
    found = []
    for element in header.split(","):
        match = ENTITY_TAG.fullmatch(element.strip(" \t"))
        if match is not None:
            found.append((bool(match.group(1)), match.group(2)))
    return found


def strong_match(header: str, opaque: str) -> bool:
    """``If-Match``'s comparison: ``*``, or the same opaque tag, neither weak."""
    if header.strip() == "*":
        return True
    return any(not weak and tag == opaque for weak, tag in entity_tags(header))


def weak_match(header: str, opaque: str) -> bool:
    """``If-None-Match``'s comparison: ``*``, or the same opaque tag, weak or not."""
    if header.strip() == "*":
        return True
    return any(tag == opaque for _weak, tag in entity_tags(header))


def require_if_match(request: webob.Request, image: Image) -> None:
    """Make the write of ``image`` conditional on ``If-Match``, if the request has one.
    ``*`` matches any image that exists (loading it proved that). A tag that names no longer
    the image's revision requires one that never matches: the write is refused (412) by the
    database, after the layers' own checks, as RFC 9110 orders them."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    current = str(image.revision)
    image.require_revision(image.revision if strong_match(header, current) else NO_REVISION)


def range_applies(request: webob.Request, etag: str | None) -> bool:
    """Whether a download's ``Range`` is to be served (RFC 9110 13.1.5): always without
    ``If-Range``; with it, only when it is exactly the data's strong entity-tag. A date (there
    is no ``Last-Modified`` to hold it against), a weak tag or garbage gets the whole data."""
    header = request.headers.get("If-Range")
    if header is None:
        return True
    match = ENTITY_TAG.fullmatch(header.strip(" \t"))
    if match is None or match.group(1) or etag is None:
        return False
    return match.group(2) == etag.strip('"')


def not_modified(request: webob.Request, etag: str | None) -> bool:
    """Whether a GET or HEAD answered with ``etag`` is a 304 (``If-None-Match`` matches)."""
    header = request.headers.get("If-None-Match")
    if header is None or etag is None:
        return False
    return weak_match(header, etag.strip('"'))


def not_modified_response(etag: str) -> webob.Response:
    response = webob.Response(status=304, charset=None)
    del response.content_type
    response.headers["ETag"] = etag
    return response
