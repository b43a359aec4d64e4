"""Reading metadef request bodies and list parameters: JSON object, clean text, read-only
attributes refused (403, as Glance), then the served schema."""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api import body as request_body
from imgreg.api.text import check_text
from imgreg.domain import errors
from imgreg.domain import metadef_schemas as schemas

READ_ONLY = ("self", "schema", "created_at", "updated_at")


def read_object(request: webob.Request, limit: int, kind: str) -> dict[str, Any]:
    body = request_body.read_json(request, limit)
    if body is None:
        raise errors.Invalid("Body expected in request.")
    if not isinstance(body, dict):
        raise errors.Invalid("Unexpected body type. Expected a JSON object.")
    check_text(body)
    for key in READ_ONLY:
        if key in body:
            raise errors.Forbidden(f"Attribute '{key}' is read-only.")
    schemas.validate(kind, body)
    return body


def check_name(name: str, what: str) -> str:
    """A name the API can address: not empty, no ``/`` (it could never be looked up again),
    no leading or trailing blanks, nothing ``check_text`` refuses (names also come from paths)."""
    check_text(name)
    if not name.strip():
        raise errors.Invalid(f"The {what} name must not be empty.")
    if "/" in name:
        raise errors.Invalid(f"The {what} name must not contain '/'.")
    if name != name.strip():
        raise errors.Invalid(f"The {what} name must not begin or end with blanks.")
    return name


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return min(default, maximum)
    try:
        limit = int(value)
    except ValueError:
        raise errors.Invalid("limit param must be an integer") from None
    if limit < 0:
        raise errors.Invalid("limit param must be positive")
    return min(limit, maximum)


def parse_sort_dir(value: str) -> str:
    if value not in ("asc", "desc"):
        raise errors.Invalid(f"Invalid sort direction: {value[:40]}")
    return value
