"""Request bodies to metadef domain objects, after the served schema has accepted them."""

from __future__ import annotations

from typing import Any

from imgreg.api.metadefs.requests import check_name
from imgreg.domain import errors
from imgreg.domain import metadef_schemas as schemas
from imgreg.domain.metadef import (
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    ResourceTypeAssociation,
)


def _property_schemas(properties: Any) -> dict[str, Any]:
    """An object's (or a namespace's) property definitions, each checked as one property."""
    out: dict[str, Any] = {}
    for name, schema in (properties or {}).items():
        check_name(name, "property")
        schemas.validate("property_unnamed", schema)
        out[name] = {k: v for k, v in schema.items() if k != "name"}
    return out


def metadef_object(namespace: str, body: dict[str, Any]) -> MetadefObject:
    schemas.validate("object", body)
    properties = _property_schemas(body.get("properties"))
    required = body.get("required")
    return MetadefObject(
        namespace=namespace,
        name=check_name(body["name"], "object"),
        description=body.get("description"),
        required=list(required) if required is not None else None,
        properties=properties or None,
    )


def metadef_property(namespace: str, body: dict[str, Any]) -> MetadefProperty:
    schemas.validate("property", body)
    name = check_name(body["name"], "property")
    return MetadefProperty(namespace, name, {k: v for k, v in body.items() if k != "name"})


def namespace_properties(namespace: str, properties: Any) -> list[MetadefProperty]:
    return [
        MetadefProperty(namespace, name, schema)
        for name, schema in _property_schemas(properties).items()
    ]


def metadef_tag(namespace: str, name: str) -> MetadefTag:
    if len(name) > 80:
        raise errors.Invalid("Provided object does not match schema 'tag': name is too long")
    return MetadefTag(namespace, check_name(name, "tag"))


def metadef_tags(namespace: str, items: Any) -> list[MetadefTag]:
    """The ``tags`` of a bulk create (already checked against the ``tags`` list schema)."""
    return [metadef_tag(namespace, item["name"]) for item in items or ()]


def association(namespace: str, body: dict[str, Any]) -> ResourceTypeAssociation:
    schemas.validate("resource_type", body)
    return ResourceTypeAssociation(
        namespace=namespace,
        name=check_name(body["name"], "resource type"),
        prefix=body.get("prefix"),
        properties_target=body.get("properties_target"),
    )
