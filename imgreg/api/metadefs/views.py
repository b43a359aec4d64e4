"""How metadefs look on the wire (Glance's layout: absent fields are left out)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from imgreg.domain.image import isotime
from imgreg.domain.metadef import (
    MetadefObject,
    MetadefProperty,
    MetadefTag,
    Namespace,
    ResourceTypeAssociation,
)

NAMESPACES_PATH = "/v2/metadefs/namespaces"


def namespace_href(name: str) -> str:
    return f"{NAMESPACES_PATH}/{name}"


def location(path: str) -> str:
    """``path`` fit for a ``Location`` header (names may hold any character)."""
    return urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~")


def _drop_none(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if v is not None}


def namespace_view(ns: Namespace) -> dict[str, Any]:
    return _drop_none(
        {
            "namespace": ns.namespace,
            "display_name": ns.display_name,
            "description": ns.description,
            "visibility": ns.visibility,
            "protected": ns.protected,
            "owner": ns.owner,
            "created_at": isotime(ns.created_at),
            "updated_at": isotime(ns.updated_at),
            "self": namespace_href(ns.namespace),
            "schema": "/v2/schemas/metadefs/namespace",
        }
    )


def association_view(assoc: ResourceTypeAssociation) -> dict[str, Any]:
    return _drop_none(
        {
            "name": assoc.name,
            "prefix": assoc.prefix,
            "properties_target": assoc.properties_target,
            "created_at": isotime(assoc.created_at),
            "updated_at": isotime(assoc.updated_at),
        }
    )


def property_view(prop: MetadefProperty) -> dict[str, Any]:
    return {"name": prop.name, **prop.schema}


def object_view(obj: MetadefObject) -> dict[str, Any]:
    return _drop_none(
        {
            "name": obj.name,
            "description": obj.description,
            "required": obj.required,
            "properties": obj.properties or None,
            "created_at": isotime(obj.created_at),
            "updated_at": isotime(obj.updated_at),
            "self": f"{namespace_href(obj.namespace)}/objects/{obj.name}",
            "schema": "/v2/schemas/metadefs/object",
        }
    )


def tag_view(tag: MetadefTag) -> dict[str, Any]:
    return {
        "name": tag.name,
        "created_at": isotime(tag.created_at),
        "updated_at": isotime(tag.updated_at),
    }
