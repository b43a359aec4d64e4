"""``Resource``: calls one controller action and turns domain errors into HTTP, once.

Controllers receive the request plus the route's arguments and return a ``webob.Response``.
Any ``ImgregError`` they (or the layers below) raise is mapped by ``imgreg.api.errors``;
anything else is logged and answered with a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import webob

from imgreg.api import errors as api_errors
from imgreg.domain import errors

LOG = logging.getLogger(__name__)


def reject_body(request: webob.Request) -> None:
    """Refuse a body where none is expected (Glance's ``body_reject``)."""
    if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise errors.Invalid("A body is not expected with this request.")


def path_text(value: Any) -> Any:
    """A route argument as text: PATH_INFO holds the path's bytes as latin-1 (PEP 3333) and
    Routes matches it as it is, so ``tags/%C3%A9`` arrives as ``"Ã©"``; the version middleware
    has already refused paths that are not UTF-8."""
    if not isinstance(value, str):
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class Resource:
    def __init__(self, controller: Any, no_body: frozenset[str] = frozenset()) -> None:
        self.controller = controller
        self.no_body = no_body

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Plain WSGI, one WebOb request and the controller's response (``webob.dec.wsgify``
        would make a default response too, and merge its cookies, for every request; no
        controller uses it, and none raises webob's HTTP exceptions)."""
        return self.respond(webob.Request(environ))(environ, start_response)

    def respond(self, request: webob.Request) -> webob.Response:
        args = {name: path_text(value) for name, value in request.urlvars.items()}
        action = args.pop("action")
        args.pop("controller", None)
        try:
            if action in self.no_body:
                reject_body(request)
            response: webob.Response = getattr(self.controller, action)(request, **args)
        except errors.ImgregError as exc:
            return api_errors.from_exception(request, exc)
        except Exception:
            LOG.exception("unexpected error in %s %s", request.method, request.path)
            return api_errors.error_response(request, 500, api_errors.INTERNAL_ERROR)
        return response
