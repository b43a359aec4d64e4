"""The one table from domain errors to HTTP, and Glance-style error bodies.

Error bodies follow the request's ``Accept`` the way Glance's do: ``application/json`` gets
``{"message", "code", "title"}``; ``text/html`` or ``*/*`` (curl, python-glanceclient) gets a
small HTML page; no ``Accept`` or anything else gets plain text. The first line always reads
``<code> <reason>``.
"""

from __future__ import annotations

import html
import json

import webob
from webob.acceptparse import create_accept_header
from webob.util import status_reasons

from imgreg.domain import errors

STATUS_BY_ERROR: list[tuple[type[errors.ImgregError], int]] = [
    (errors.StoreFull, 413),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Invalid, 400),
    (errors.Conflict, 409),
    (errors.Gone, 410),
    (errors.PreconditionFailed, 412),
    (errors.QuotaExceeded, 413),
    (errors.RequestTooLarge, 413),
    (errors.ServiceUnavailable, 503),
    (errors.UnsupportedMediaType, 415),
    (errors.StoreError, 503),
    (errors.RangeNotSatisfiable, 416),
]
INTERNAL_ERROR = (
    "The server has either erred or is incapable of performing the requested operation."
)


def status_of(exc: errors.ImgregError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def _body_type(accept_header: str | None) -> str:
    if not accept_header:
        return "text/plain"
    offers = create_accept_header(accept_header).acceptable_offers(
        ["text/html", "application/json"]
    )
    return offers[0][0] if offers else "text/plain"


def error_response(
    request: webob.Request, status: int, message: str, headers: dict[str, str] | None = None
) -> webob.Response:
    reason = status_reasons.get(status, "Error")
    code = f"{status} {reason}"
    kind = _body_type(request.headers.get("Accept"))
    if kind == "application/json":
        body = json.dumps({"message": message, "code": code, "title": reason})
    elif kind == "text/html":
        body = (
            f"<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n"
            f"  {html.escape(message)}<br /><br />\n\n\n\n </body>\n</html>"
        )
    else:
        body = f"{code}\n\n{message}\n\n   "
    response = webob.Response(status=status, body=body.encode("utf-8"), charset=None)
    response.content_type = kind
    response.charset = "UTF-8"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_exception(request: webob.Request, exc: errors.ImgregError) -> webob.Response:
    return error_response(request, status_of(exc), exc.message, exc.headers)
