"""``/v2/metadefs/resource_types`` and a namespace's associations with them
(``/v2/metadefs/namespaces/{namespace}/resource_types[/{name}]``)."""

from __future__ import annotations

import json

import webob

from imgreg.api.metadefs import parse, requests
from imgreg.api.metadefs.views import association_view
from imgreg.api.views import json_response
from imgreg.domain import errors
from imgreg.domain.image import isotime
from imgreg.domain.metadef import ResourceTypeAssociation
from imgreg.domain.metadef_schemas import DOCUMENTS
from imgreg.layers.metadefs import build_namespace_repo, build_resource_type_repo
from imgreg.services import Services


class ResourceTypesController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def index(self, request: webob.Request) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        types = build_resource_type_repo(ctx, self.svc).list_types()
        views = [
            {
                "name": t.name,
                "created_at": isotime(t.created_at),
                "updated_at": isotime(t.updated_at),
            }
            for t in types
        ]
        return json_response({"resource_types": views})

    def show(self, request: webob.Request, namespace: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        ns = build_namespace_repo(ctx, self.svc).get(namespace)
        found = build_resource_type_repo(ctx, self.svc).associations(ns)
        return json_response({"resource_type_associations": [association_view(a) for a in found]})

    def create(self, request: webob.Request, namespace: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        ns = build_namespace_repo(ctx, self.svc).get(namespace)
        body = requests.read_object(request, self.svc.conf.max_request_body_size, "resource_type")
        item = parse.association(ns.namespace, body)
        build_resource_type_repo(ctx, self.svc).add_all(ns, [item])
        return json_response(association_view(item), status=201)

    def delete(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        ns = build_namespace_repo(ctx, self.svc).get(namespace)
        build_resource_type_repo(ctx, self.svc).remove(
            ns, ResourceTypeAssociation(ns.namespace, name)
        )
        return webob.Response(status=204)


class MetadefSchemasController:
    """``GET /v2/schemas/metadefs/{name}``: the ten documents, serialized once."""

    def __init__(self, svc: Services) -> None:
        self._bodies = {name: json.dumps(doc).encode() for name, doc in DOCUMENTS.items()}

    def show(self, request: webob.Request, name: str) -> webob.Response:
        body = self._bodies.get(name)
        if body is None:
            raise errors.NotFound("The resource could not be found.")
        return webob.Response(body=body, content_type="application/json", charset=None)
