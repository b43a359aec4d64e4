"""What a namespace holds, as the namespace endpoints show and create it: its objects,
properties, tags and resource type associations, each through its own chain."""

from __future__ import annotations

import dataclasses
from typing import Any

from imgreg.api.metadefs import parse
from imgreg.api.metadefs.views import association_view, namespace_view, object_view
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.metadef import (
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    Namespace,
    ResourceTypeAssociation,
)
from imgreg.layers.metadefs import (
    build_object_repo,
    build_property_repo,
    build_resource_type_repo,
    build_tag_repo,
)
from imgreg.layers.metadefs.common import MetadefPolicy
from imgreg.services import Services


@dataclasses.dataclass
class Parsed:
    associations: list[ResourceTypeAssociation]
    objects: list[MetadefObject]
    properties: list[MetadefProperty]
    tags: list[MetadefTag]


def _unique(names: list[str], what: str, namespace: str) -> None:
    for name in names:
        if names.count(name) > 1:
            raise errors.Conflict(
                f"A metadata definition {what} with name={name} already exists in "
                f"namespace={namespace}."
            )


class NamespaceContents:
    def __init__(self, ctx: RequestContext, svc: Services) -> None:
        self.ctx = ctx
        self.svc = svc

    def parse(self, body: dict[str, Any]) -> Parsed:
        """Everything in a create body, checked before anything is stored; the rules for
        the kinds it holds too (Glance checks them first, with the caller as owner)."""
        name = body["namespace"]
        parsed = Parsed(
            associations=[
                parse.association(name, a) for a in body.get("resource_type_associations", ())
            ],
            objects=[parse.metadef_object(name, o) for o in body.get("objects", ())],
            properties=parse.namespace_properties(name, body.get("properties")),
            tags=parse.metadef_tags(name, body.get("tags")),
        )
        _unique([o.name for o in parsed.objects], "object", name)
        _unique([t.name for t in parsed.tags], "tag", name)
        _unique([a.name for a in parsed.associations], "resource-type association", name)
        rules = MetadefPolicy(self.ctx, self.svc.policy)
        for present, rule in (
            (parsed.associations, "add_metadef_resource_type_association"),
            (parsed.objects, "add_metadef_object"),
            (parsed.properties, "add_metadef_property"),
            (parsed.tags, "add_metadef_tag"),
        ):
            if present:
                rules.enforce_global(rule)
        return parsed

    def create_all(self, namespace: Namespace, parsed: Parsed) -> dict[str, Any]:
        ctx, svc = self.ctx, self.svc
        if parsed.associations:
            build_resource_type_repo(ctx, svc).add_all(namespace, parsed.associations)
        if parsed.objects:
            build_object_repo(ctx, svc, namespace).add_all(parsed.objects)
        if parsed.tags:
            build_tag_repo(ctx, svc, namespace).add_all(parsed.tags)
        if parsed.properties:
            build_property_repo(ctx, svc, namespace).add_all(parsed.properties)
        return self._view(
            namespace, parsed.associations, parsed.objects, parsed.properties, parsed.tags
        )

    def _view(
        self,
        namespace: Namespace,
        associations: list[ResourceTypeAssociation],
        objects: list[MetadefObject],
        properties: list[MetadefProperty],
        tags: list[MetadefTag],
    ) -> dict[str, Any]:
        view = namespace_view(namespace)
        if associations:
            view["resource_type_associations"] = [association_view(a) for a in associations]
        if properties:
            view["properties"] = {p.name: p.schema for p in properties}
        if objects:
            view["objects"] = [object_view(o) for o in objects]
        if tags:
            view["tags"] = [{"name": t.name} for t in tags]
        return view

    def own(self, namespace: Namespace) -> dict[str, Any]:
        return namespace_view(namespace)

    def listed(self, namespace: Namespace) -> dict[str, Any]:
        associations = build_resource_type_repo(self.ctx, self.svc).associations(namespace)
        return self._view(namespace, associations, [], [], [])

    def detail(self, namespace: Namespace, resource_type: str | None) -> dict[str, Any]:
        ctx, svc = self.ctx, self.svc
        associations = build_resource_type_repo(ctx, svc).associations(namespace)
        objects = build_object_repo(ctx, svc, namespace).list()
        properties = build_property_repo(ctx, svc, namespace).list()
        tags = build_tag_repo(ctx, svc, namespace).list()
        prefix = next((a.prefix for a in associations if a.name == resource_type), None)
        if prefix:
            for prop in properties:
                prop.name = prefix + prop.name
            for obj in objects:
                obj.properties = {prefix + k: v for k, v in (obj.properties or {}).items()}
                obj.required = [prefix + r for r in obj.required or ()] or None
        return self._view(namespace, associations, objects, properties, tags)
