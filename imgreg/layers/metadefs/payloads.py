"""Glance's notification payloads for objects, properties and tags, and each kind's rules."""

from __future__ import annotations

from typing import Any

from imgreg.domain.image import isotime_or_none
from imgreg.domain.metadef import MetadefObject, MetadefProperty, MetadefTag
from imgreg.layers.metadefs.children import Kind

SCHEMA_FIELDS = (
    "type",
    "title",
    "description",
    "default",
    "minimum",
    "maximum",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "confidential",
    "items",
    "uniqueItems",
    "minItems",
    "maxItems",
    "additionalItems",
)


def _base(item: MetadefObject | MetadefProperty | MetadefTag) -> dict[str, Any]:
    return {"namespace": item.namespace, "name": item.name, "name_old": item.name}


def _done() -> dict[str, Any]:
    return {"deleted": False, "deleted_at": None}


def object_payload(obj: MetadefObject) -> dict[str, Any]:
    properties = [
        {"name": name, **{f: (prop.get(f) or None) for f in SCHEMA_FIELDS}}
        for name, prop in (obj.properties or {}).items()
    ]
    return {
        **_base(obj),
        "properties": properties,
        "required": obj.required,
        "description": obj.description,
        "created_at": isotime_or_none(obj.created_at),
        "updated_at": isotime_or_none(obj.updated_at),
        **_done(),
    }


def property_payload(prop: MetadefProperty) -> dict[str, Any]:
    return {**_base(prop), **{f: prop.schema.get(f) for f in SCHEMA_FIELDS}, **_done()}


def tag_payload(tag: MetadefTag) -> dict[str, Any]:
    return {
        **_base(tag),
        "created_at": isotime_or_none(tag.created_at),
        "updated_at": isotime_or_none(tag.updated_at),
        **_done(),
    }


OBJECT_KIND: Kind[MetadefObject] = Kind(
    get="get_metadef_object",
    list="get_metadef_objects",
    add="add_metadef_object",
    add_all="add_metadef_object",
    modify="modify_metadef_object",
    delete="delete_metadef_object",
    event="metadef_object",
    payload=object_payload,
)
PROPERTY_KIND: Kind[MetadefProperty] = Kind(
    get="get_metadef_property",
    list="get_metadef_properties",
    add="add_metadef_property",
    add_all="add_metadef_property",
    modify="modify_metadef_property",
    delete="remove_metadef_property",
    event="metadef_property",
    payload=property_payload,
)
TAG_KIND: Kind[MetadefTag] = Kind(
    get="get_metadef_tag",
    list="get_metadef_tags",
    add="add_metadef_tag",
    add_all="add_metadef_tags",
    modify="modify_metadef_tag",
    delete="delete_metadef_tag",
    event="metadef_tag",
    payload=tag_payload,
)
