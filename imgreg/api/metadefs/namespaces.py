"""``/v2/metadefs/namespaces[/{namespace}]``: create, list, show, update, delete, and the
bulk deletes of a namespace's objects, properties and tags.

Parsing is in ``imgreg.api.metadefs.requests``; the controller calls the chain and shapes the
response. A namespace created with contents (objects, properties, tags, resource type
associations) is created with all of them or not at all.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import webob

from imgreg.api.metadefs import requests
from imgreg.api.metadefs.contents import NamespaceContents
from imgreg.api.metadefs.views import NAMESPACES_PATH, location, namespace_href
from imgreg.api.views import json_response
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.metadef import VISIBILITIES, Namespace
from imgreg.domain.metadef_query import SORT_KEYS, NamespaceQuery, Viewer
from imgreg.layers.metadefs import build_namespace_repo, discard_namespace
from imgreg.layers.metadefs.namespaces import NamespaceRepo
from imgreg.services import Services


def parse_list(request: webob.Request, svc: Services) -> NamespaceQuery:
    params = request.GET
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise errors.Invalid(f"Invalid sort key: {sort_key[:40]}")
    visibility = params.get("visibility") or None
    if visibility is not None and visibility not in VISIBILITIES:
        raise errors.Invalid(f"Invalid visibility value: {visibility[:40]}")
    types = tuple(t for t in params.get("resource_types", "").split(",") if t)
    return NamespaceQuery(
        viewer=Viewer(admin=False, project=None),  # the authorization layer sets the caller
        limit=requests.parse_limit(
            params.get("limit"), svc.conf.limit_param_default, svc.conf.api_limit_max
        ),
        marker=params.get("marker"),
        sort_key=sort_key,
        sort_dir=requests.parse_sort_dir(params.get("sort_dir", "desc")),
        visibility=visibility,
        resource_types=types,
    )


def _fields(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """The namespace's own fields from a create or update body (Glance's defaults)."""
    return {
        "namespace": requests.check_name(body["namespace"], "namespace"),
        "display_name": body.get("display_name"),
        "description": body.get("description"),
        "visibility": body.get("visibility") or "private",
        "protected": bool(body.get("protected") or False),
        "owner": body.get("owner") or ctx.project_id,
    }


class NamespacesController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _repo(self, request: webob.Request) -> NamespaceRepo:
        return build_namespace_repo(request.environ["imgreg.context"], self.svc)

    def _body(self, request: webob.Request) -> dict[str, Any]:
        return requests.read_object(request, self.svc.conf.max_request_body_size, "namespace")

    def index(self, request: webob.Request) -> webob.Response:
        query = parse_list(request, self.svc)
        ctx = request.environ["imgreg.context"]
        found = self._repo(request).list(query)
        contents = NamespaceContents(ctx, self.svc)
        views = []
        for namespace in found:
            try:
                views.append(contents.listed(namespace))
            except errors.NotFound:
                # deleted since the list was read (a listed namespace is one the caller may
                # see, so this is not a denial): left out, as in a list read a moment later
                continue
        params = [(k, v) for k, v in request.GET.items() if k != "marker"]
        first = NAMESPACES_PATH + (f"?{urllib.parse.urlencode(params)}" if params else "")
        body: dict[str, Any] = {
            "namespaces": views,
            "first": first,
            "schema": "/v2/schemas/metadefs/namespaces",
        }
        if found and len(found) == query.limit:
            body["next"] = f"{NAMESPACES_PATH}?" + urllib.parse.urlencode(
                [*params, ("marker", found[-1].namespace)]
            )
        return json_response(body)

    def create(self, request: webob.Request) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        body = self._body(request)
        namespace = Namespace(**_fields(body, ctx))
        contents = NamespaceContents(ctx, self.svc)
        parsed = contents.parse(body)
        namespace = self._repo(request).add(namespace)
        try:
            view = contents.create_all(namespace, parsed)
        except BaseException:
            # Glance's clean-up: the namespace goes, with whatever of it was created (even
            # when protected: it was never whole).
            discard_namespace(self.svc, namespace)
            raise
        response = json_response(view, status=201)
        response.location = location(namespace_href(namespace.namespace))
        return response

    def show(self, request: webob.Request, namespace: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        found = self._repo(request).get(namespace)
        prefix_for = request.GET.get("resource_type")
        return json_response(NamespaceContents(ctx, self.svc).detail(found, prefix_for))

    def update(self, request: webob.Request, namespace: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        repo = self._repo(request)
        found = repo.get(namespace)
        body = self._body(request)
        for key, value in _fields(body, ctx).items():
            setattr(found, key, value)
        return json_response(NamespaceContents(ctx, self.svc).own(repo.save(found)))

    def delete(self, request: webob.Request, namespace: str) -> webob.Response:
        repo = self._repo(request)
        repo.remove(repo.get(namespace))
        return webob.Response(status=204)
