"""Reading JSON request bodies within a size limit.

Image data never comes through here (it streams to the store); every other body is small, so
it is read whole, but never more than ``max_request_body_size`` bytes of it: a declared length
above the limit is refused before a byte is read, and an undeclared (chunked) body is cut off
one byte past it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import webob

from imgreg.domain import errors

LOG = logging.getLogger(__name__)


def read_body(request: webob.Request, limit: int) -> bytes:
    """The whole body, or ``RequestTooLarge`` (413) when it is longer than ``limit``."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    try:
        data: bytes = request.body_file.read(limit + 1)
    except Exception as exc:  # the client went away or stalled past the socket timeout
        LOG.info("request body could not be read: %s", exc)
        raise errors.Invalid("The request body could not be read completely.") from None
    if len(data) > limit:
        raise _too_large(limit)
    return data


def parse_json(data: bytes) -> Any:
    """``data`` as JSON (``None`` when empty); 400 when it is not JSON, not UTF-8, or nested
    too deeply to parse."""
    try:
        return json.loads(data or b"null")
    except (ValueError, RecursionError):
        raise errors.Invalid("Malformed JSON in request body.") from None


def read_json(request: webob.Request, limit: int) -> Any:
    return parse_json(read_body(request, limit))


def _too_large(limit: int) -> errors.RequestTooLarge:
    return errors.RequestTooLarge(f"The request body is too large (at most {limit} bytes).")
