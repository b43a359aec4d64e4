"""Paste filters: request id, request context, version negotiation.

The context reads identity the way keystonemiddleware leaves it in the headers
(``X-Identity-Status``, ``X-Roles``, ``X-Project-Id``/``X-Tenant-Id``, ``X-User-Id``, and the
scope of a token without a project: ``OpenStack-System-Scope``, ``X-Domain-Id``), each through
``identity_header``: keystonemiddleware sets every header it knows, those the token has no
value for (a system-scoped token's project) to None, so present and empty reads as absent. Only in
the noauth pipeline (``anonymous_admin``, set by its paste filter) is a request with no identity
headers at all an administrator's, as in Glance's trusted-auth set-up: run that pipeline only
where the headers cannot come from untrusted clients. Otherwise (behind keystonemiddleware) such
a request gets 401.

The caller's token (``X-Auth-Token``) and service catalog (``X-Service-Catalog``, the JSON
list keystonemiddleware sets) go into the context as they are, for glance-download; a
catalog that is not a JSON list of objects reads as an empty one (the import then finds no
endpoint), never as an error of the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import webob
import webob.dec

from imgreg.api import errors as api_errors
from imgreg.api import request_ids
from imgreg.api.versions import versions_response
from imgreg.context import RequestContext
from imgreg.server import logs
from imgreg.services import Services

REQUEST_ID_HEADER = "x-openstack-request-id"
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]+$")
IDENTITY_HEADERS = (
    "X-Identity-Status",
    "X-Roles",
    "X-Project-Id",
    "X-Tenant-Id",
    "X-User-Id",
    "X-Domain-Id",
    "OpenStack-System-Scope",
)
# DOTALL: a decoded path may hold a newline (``%0A``) and is still under /v2; the minor is
# ASCII digits, few enough that int() never sees thousands of them.
VERSIONED_PATH = re.compile(r"^/v2(?:\.([0-9]{1,9}))?(/.*)?$", re.DOTALL)


def new_request_id() -> str:
    """``req-`` and a random (version 4) UUID, as Glance's (``imgreg.api.request_ids``)."""
    return request_ids.new()


class Middleware:
    def __init__(self, app: Any, svc: Services) -> None:
        self.app = app
        self.svc = svc


Filter = Callable[[Any, webob.Request], "webob.Response | None"]


def answer_or_pass(method: Filter) -> Callable[[Any, dict[str, Any], Any], Any]:
    """A filter method ``(self, request) -> response or None`` as a WSGI ``__call__``: None
    hands the request on to ``self.app``. (``webob.dec.wsgify`` would build a default response
    object for every request, also for the many each filter only passes on.)"""

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        response = method(self, webob.Request(environ))
        return (self.app if response is None else response)(environ, start_response)

    return __call__


class RequestIdMiddleware(Middleware):
    """Echo a well-formed client request id, otherwise mint ``req-<uuid>``; never fail.

    Plain WSGI (as the other filters hand on ``self.app`` rather than a captured response):
    a request pays for one WebOb request and response, in the controller, not one per filter.
    """

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        given = environ.get("HTTP_X_OPENSTACK_REQUEST_ID", "")
        if len(given) <= self.svc.conf.max_request_id_length and SAFE_REQUEST_ID.match(given):
            request_id = given
        else:
            request_id = new_request_id()
        environ["imgreg.request_id"] = request_id

        def with_request_id(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            headers = [h for h in headers if h[0].lower() != REQUEST_ID_HEADER]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status, headers, *exc_info)

        token = logs.REQUEST_ID.set(request_id)  # for the log lines this thread writes
        try:
            return self.app(environ, with_request_id)
        finally:
            logs.REQUEST_ID.reset(token)


def environ_key(name: str) -> str:
    """Where WSGI keeps a request header (webob's translation, for the X-* headers here)."""
    return "HTTP_" + name.upper().replace("-", "_")


# read straight from the environ: webob's headers view translates the name on every lookup
ENVIRON_KEYS = {
    name: environ_key(name)
    for name in (
        *IDENTITY_HEADERS,
        "X-Auth-Token",
        "X-Service-Identity-Status",
        "X-Service-Roles",
        "X-Service-Catalog",
    )
}


def identity_header(environ: dict[str, Any], name: str) -> str | None:
    """The value of one identity header, or None when it is absent, empty (or blank), or
    present with no value at all (keystonemiddleware sets the headers the token has no value
    for to None)."""
    value = environ.get(ENVIRON_KEYS[name])
    return value if value and value.strip() else None


class ContextMiddleware(Middleware):
    def __init__(self, app: Any, svc: Services, anonymous_admin: bool = False) -> None:
        super().__init__(app, svc)
        self.anonymous_admin = anonymous_admin

    @answer_or_pass
    def __call__(self, request: webob.Request) -> webob.Response | None:
        request_id = request.environ.get("imgreg.request_id") or new_request_id()
        environ = request.environ
        given = {h: identity_header(environ, h) for h in IDENTITY_HEADERS}
        # Project, user and domain ids land in 255-character columns (owner, member);
        # Keystone's are 32-64 characters, so anything longer, or with NUL, is not an identity.
        if any(len(v) > 255 for h, v in given.items() if v and h.endswith("-Id")) or any(
            "\x00" in v for v in given.values() if v
        ):
            return api_errors.error_response(request, 400, "Malformed identity headers.")
        # Presence, not value: a request that carries any identity header, even an empty one,
        # is somebody's, never the noauth pipeline's anonymous administrator.
        anonymous = not any(ENVIRON_KEYS[h] in environ for h in IDENTITY_HEADERS)
        if anonymous and self.anonymous_admin:
            ctx = RequestContext(request_id, roles=["admin", "member", "reader"], is_admin=True)
        # keystonemiddleware always says Confirmed or Invalid; only noauth may leave it out
        elif (given["X-Identity-Status"] or ("Confirmed" if self.anonymous_admin else "")) != (
            "Confirmed"
        ):
            return api_errors.error_response(
                request,
                401,
                "This server could not verify that "
                "you are authorized to access the document you "
                "requested.",
            )
        else:
            roles = [r.strip() for r in (given["X-Roles"] or "").split(",") if r.strip()]
            ctx = RequestContext(
                request_id,
                project_id=given["X-Project-Id"] or given["X-Tenant-Id"],
                user_id=given["X-User-Id"],
                roles=roles,
                system_scope=given["OpenStack-System-Scope"],
                domain_id=given["X-Domain-Id"],
            )
            ctx.is_admin = self.svc.policy.is_admin(ctx.policy_credentials())
        ctx.service_roles = service_roles(environ)
        ctx.auth_token = identity_header(environ, "X-Auth-Token")
        ctx.service_catalog = service_catalog(environ.get(ENVIRON_KEYS["X-Service-Catalog"]))
        request.environ["imgreg.context"] = ctx
        return None


def service_roles(environ: dict[str, Any]) -> list[str]:
    """The roles of a service token, which keystonemiddleware confirmed (it drops any
    X-Service-* header a client sent, and sets X-Service-Identity-Status)."""
    if identity_header(environ, "X-Service-Identity-Status") != "Confirmed":
        return []
    value = identity_header(environ, "X-Service-Roles") or ""
    return [role.strip() for role in value.split(",") if role.strip()]


def service_catalog(header: str | None) -> list[dict[str, Any]]:
    """The services of an ``X-Service-Catalog`` header; [] when absent or not a JSON list
    (entries that are not objects are left out)."""
    if not header:
        return []
    try:
        catalog = json.loads(header)
    except (ValueError, RecursionError):
        return []
    if not isinstance(catalog, list):
        return []
    return [entry for entry in catalog if isinstance(entry, dict)]


class VersionNegotiationMiddleware(Middleware):
    """``/`` and unknown versions → 300 versions document; ``/versions`` → 200;
    ``/v2.N/...`` (an advertised N) → ``/v2/...``."""

    def __init__(self, app: Any, svc: Services, minors: frozenset[int]) -> None:
        super().__init__(app, svc)
        self.minors = minors

    @answer_or_pass
    def __call__(self, request: webob.Request) -> webob.Response | None:
        try:
            path = request.path_info
            request.GET  # noqa: B018 - decodes (and caches) the query string
        except UnicodeDecodeError:
            return api_errors.error_response(
                request, 400, "The request path and query string must be valid UTF-8."
            )
        if path in ("/versions", "/versions/") and request.method == "GET":
            return versions_response(request, self.svc.conf, 200, self.svc.store.multiple)
        match = VERSIONED_PATH.match(path)
        if match is None or (match.group(1) and int(match.group(1)) not in self.minors):
            return versions_response(request, self.svc.conf, 300, self.svc.store.multiple)
        request.path_info = "/v2" + (match.group(2) or "")
        return None
