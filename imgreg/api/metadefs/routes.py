"""The metadef part of the route table: one ``route()`` line per path."""

from __future__ import annotations

from typing import Protocol

from imgreg.api.metadefs.children import ObjectsController, PropertiesController, TagsController
from imgreg.api.metadefs.namespaces import NamespacesController
from imgreg.api.metadefs.resource_types import MetadefSchemasController, ResourceTypesController
from imgreg.api.resource import Resource
from imgreg.services import Services

NS = "/v2/metadefs/namespaces/{namespace}"


class Routes(Protocol):
    def route(self, path: str, resource: Resource, **actions: str) -> None: ...


def _no_body(*actions: str) -> frozenset[str]:
    return frozenset(actions)


def add_metadef_routes(router: Routes, svc: Services) -> None:
    reads = ("index", "show", "delete", "delete_all")
    schemas = Resource(MetadefSchemasController(svc), no_body=_no_body("show"))
    namespaces = Resource(NamespacesController(svc), no_body=_no_body(*reads))
    objects = Resource(ObjectsController(svc), no_body=_no_body(*reads))
    properties = Resource(PropertiesController(svc), no_body=_no_body(*reads))
    tags = Resource(TagsController(svc), no_body=_no_body(*reads, "create"))
    types = Resource(ResourceTypesController(svc), no_body=_no_body(*reads))

    router.route("/v2/schemas/metadefs/{name}", schemas, GET="show")
    router.route("/v2/metadefs/resource_types", types, GET="index")
    router.route("/v2/metadefs/namespaces", namespaces, GET="index", POST="create")
    router.route(NS, namespaces, GET="show", PUT="update", DELETE="delete")
    router.route(NS + "/objects", objects, GET="index", POST="create", DELETE="delete_all")
    router.route(NS + "/objects/{name}", objects, GET="show", PUT="update", DELETE="delete")
    router.route(NS + "/properties", properties, GET="index", POST="create", DELETE="delete_all")
    router.route(NS + "/properties/{name}", properties, GET="show", PUT="update", DELETE="delete")
    router.route(NS + "/tags", tags, GET="index", POST="create_many", DELETE="delete_all")
    router.route(
        NS + "/tags/{name}", tags, GET="show", POST="create", PUT="update", DELETE="delete"
    )
    router.route(NS + "/resource_types", types, GET="show", POST="create")
    router.route(NS + "/resource_types/{name}", types, DELETE="delete")
