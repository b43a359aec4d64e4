"""``/v2/metadefs/namespaces/{namespace}/objects|properties|tags[/{name}]``.

Each action loads the namespace through the namespace chain (``NotFound`` when the caller may
not see it), then works on the chain of the kind it addresses.
"""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api.metadefs import parse, requests
from imgreg.api.metadefs.views import object_view, property_view, tag_view
from imgreg.api.views import json_response
from imgreg.domain import errors
from imgreg.domain.metadef import Namespace
from imgreg.layers.metadefs import (
    build_namespace_repo,
    build_object_repo,
    build_property_repo,
    build_resource_type_repo,
    build_tag_repo,
)
from imgreg.services import Services


class _Base:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _namespace(self, request: webob.Request, name: str) -> Namespace:
        return build_namespace_repo(request.environ["imgreg.context"], self.svc).get(name)

    def _body(self, request: webob.Request, kind: str) -> dict[str, Any]:
        return requests.read_object(request, self.svc.conf.max_request_body_size, kind)

    def _delete_all(self, request: webob.Request, namespace: str, kind: str) -> webob.Response:
        """All of a namespace's objects, properties or tags (the namespace's own rules)."""
        repo = build_namespace_repo(request.environ["imgreg.context"], self.svc)
        repo.remove_children(repo.get(namespace), kind)
        return webob.Response(status=204)


class ObjectsController(_Base):
    def delete_all(self, request: webob.Request, namespace: str) -> webob.Response:
        return self._delete_all(request, namespace, "objects")

    def _repo(self, request: webob.Request, namespace: str) -> Any:
        ns = self._namespace(request, namespace)
        return build_object_repo(request.environ["imgreg.context"], self.svc, ns)

    def index(self, request: webob.Request, namespace: str) -> webob.Response:
        objects = [object_view(o) for o in self._repo(request, namespace).list()]
        return json_response({"objects": objects, "schema": "v2/schemas/metadefs/objects"})

    def create(self, request: webob.Request, namespace: str) -> webob.Response:
        repo = self._repo(request, namespace)
        obj = parse.metadef_object(repo.namespace.namespace, self._body(request, "object"))
        return json_response(object_view(repo.add(obj)), status=201)

    def show(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        return json_response(object_view(self._repo(request, namespace).get(name)))

    def update(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        found = repo.get(name)
        new = parse.metadef_object(found.namespace, self._body(request, "object"))
        found.name, found.description = new.name, new.description
        found.required, found.properties = new.required, new.properties
        return json_response(object_view(repo.save(found)))

    def delete(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        repo.remove(repo.get(name))
        return webob.Response(status=204)


class PropertiesController(_Base):
    def delete_all(self, request: webob.Request, namespace: str) -> webob.Response:
        return self._delete_all(request, namespace, "properties")

    def _repo(self, request: webob.Request, namespace: str) -> Any:
        ns = self._namespace(request, namespace)
        return build_property_repo(request.environ["imgreg.context"], self.svc, ns)

    def index(self, request: webob.Request, namespace: str) -> webob.Response:
        found = self._repo(request, namespace).list()
        return json_response({"properties": {p.name: p.schema for p in found}})

    def create(self, request: webob.Request, namespace: str) -> webob.Response:
        repo = self._repo(request, namespace)
        prop = parse.metadef_property(repo.namespace.namespace, self._body(request, "property"))
        return json_response(property_view(repo.add(prop)), status=201)

    def show(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        """``?resource_type=``: ``name`` carries that association's prefix (Glance)."""
        repo = self._repo(request, namespace)
        resource_type = request.GET.get("resource_type")
        if resource_type:
            ctx = request.environ["imgreg.context"]
            found = build_resource_type_repo(ctx, self.svc).associations(repo.namespace)
            assoc = next((a for a in found if a.name == resource_type), None)
            if assoc is None:
                raise errors.NotFound(
                    "The metadata definition resource-type association of resource-type="
                    f"{resource_type[:80]} to namespace={repo.namespace.namespace}, was not found."
                )
            prefix = assoc.prefix
            if not prefix or not name.startswith(prefix):
                raise errors.NotFound(
                    f"Property {name[:80]} does not start with the expected resource type "
                    f"association prefix of '{prefix}'."
                )
            name = name[len(prefix) :]
        return json_response(property_view(repo.get(name)))

    def update(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        found = repo.get(name)
        new = parse.metadef_property(found.namespace, self._body(request, "property"))
        found.name, found.schema = new.name, new.schema
        return json_response(property_view(repo.save(found)))

    def delete(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        repo.remove(repo.get(name))
        return webob.Response(status=204)


class TagsController(_Base):
    def delete_all(self, request: webob.Request, namespace: str) -> webob.Response:
        return self._delete_all(request, namespace, "tags")

    def _repo(self, request: webob.Request, namespace: str) -> Any:
        ns = self._namespace(request, namespace)
        return build_tag_repo(request.environ["imgreg.context"], self.svc, ns)

    def index(self, request: webob.Request, namespace: str) -> webob.Response:
        return json_response({"tags": [tag_view(t) for t in self._repo(request, namespace).list()]})

    def create_many(self, request: webob.Request, namespace: str) -> webob.Response:
        """``X-Openstack-Append: true`` adds to the tags; without it they replace them."""
        repo = self._repo(request, namespace)
        body = self._body(request, "tag_list")
        tags = parse.metadef_tags(repo.namespace.namespace, body.get("tags"))
        append = request.headers.get("X-Openstack-Append", "").lower() == "true"
        added = repo.add_all(tags, replace=not append)
        return json_response({"tags": [{"name": t.name} for t in added]}, status=201)

    def create(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        tag = parse.metadef_tag(repo.namespace.namespace, name)
        return json_response(tag_view(repo.add(tag)), status=201)

    def show(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        return json_response(tag_view(self._repo(request, namespace).get(name)))

    def update(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        found = repo.get(name)
        new = parse.metadef_tag(found.namespace, self._body(request, "tag")["name"])
        found.name = new.name
        return json_response(tag_view(repo.save(found)))

    def delete(self, request: webob.Request, namespace: str, name: str) -> webob.Response:
        repo = self._repo(request, namespace)
        repo.remove(repo.get(name))
        return webob.Response(status=204)
