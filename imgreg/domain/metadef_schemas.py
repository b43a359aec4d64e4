"""The ten metadef schemas, served under ``/v2/schemas/metadefs/`` and enforced on every
create and update (the same objects, as for images).

Their layout is Glance's (``name``, ``properties``, ``additionalProperties: false``,
``required``, ``definitions``; collections with ``first``/``next``/``schema`` links); the
descriptions are imgreg's.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from imgreg.domain import errors

TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _stamp(what: str) -> dict[str, Any]:
    return {"type": "string", "readOnly": True, "description": what, "format": "date-time"}


def _text(limit: int | None = None, what: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if what:
        out["description"] = what
    if limit:
        out["maxLength"] = limit
    return out


READ_ONLY_TEXT = {"readOnly": True, "type": "string"}
# One property definition: a JSON-schema fragment with a title and a type.
PROPERTY_FIELDS: dict[str, Any] = {
    "name": _text(80),
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": TYPES},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": TYPES}, "enum": {"type": "array"}},
    },
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}
DEFINITIONS: dict[str, Any] = {
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {
        "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
    },
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "property": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["title", "type"],
            "properties": PROPERTY_FIELDS,
        },
    },
}
NAMED = {"type": "object", "properties": {"name": {"type": "string"}}}


def _schema(
    name: str, properties: dict[str, Any], required: list[str], definitions: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "properties": copy.deepcopy(properties),
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    if definitions:
        out["definitions"] = copy.deepcopy(DEFINITIONS)
    return out


def _minimal(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k in ("name", "properties", "required")}


def _collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "properties": {
            name: {"type": "array", "items": _minimal(item)},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
    if "definitions" in item:
        out["definitions"] = copy.deepcopy(item["definitions"])
    return out


NAMESPACE = _schema(
    "namespace",
    {
        "namespace": _text(80, "The namespace's unique name."),
        "display_name": _text(80, "A name for people to read."),
        "description": _text(500, "What the namespace defines."),
        "visibility": {
            "type": "string",
            "description": "Who may see the namespace.",
            "enum": ["public", "private"],
        },
        "protected": {"type": "boolean", "description": "If true, it cannot be deleted."},
        "owner": _text(255, "The project that owns the namespace."),
        "created_at": _stamp("When the namespace was created."),
        "updated_at": _stamp("When the namespace last changed."),
        "schema": READ_ONLY_TEXT,
        "self": READ_ONLY_TEXT,
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "prefix": {"type": "string"},
                    "properties_target": {"type": "string"},
                },
            },
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "required": {"$ref": "#/definitions/stringArray"},
                    "properties": {"$ref": "#/definitions/property"},
                },
            },
        },
        "tags": {"type": "array", "items": NAMED},
    },
    ["namespace"],
    definitions=True,
)
OBJECT = _schema(
    "object",
    {
        "name": _text(80),
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": READ_ONLY_TEXT,
        "self": READ_ONLY_TEXT,
        "created_at": _stamp("When the object was created."),
        "updated_at": _stamp("When the object last changed."),
    },
    ["name"],
    definitions=True,
)
PROPERTY = _schema("property", PROPERTY_FIELDS, ["title", "type", "name"], definitions=True)
TAG = _schema(
    "tag",
    {
        "name": _text(80),
        "created_at": _stamp("When the tag was created."),
        "updated_at": _stamp("When the tag last changed."),
    },
    ["name"],
    definitions=True,
)
TAG_LIST = _schema(
    "tags",
    {
        "tags": {
            "type": "array",
            "items": {**NAMED, "required": ["name"], "additionalProperties": False},
        }
    },
    [],
    definitions=True,
)
RESOURCE_TYPE = _schema(
    "resource_type_association",
    {
        "name": _text(80, "The resource type, named as in Heat where one exists."),
        "prefix": _text(80, "Prefix of the namespace's property names on this resource type."),
        "properties_target": _text(80, "Which of the resource's key/value sets it targets."),
        "created_at": _stamp("When the association was made."),
        "updated_at": _stamp("When the association last changed."),
    },
    ["name"],
    definitions=False,
)


def _properties_collection() -> dict[str, Any]:
    item = _minimal(PROPERTY)
    item["required"] = ["title", "type"]
    return {
        "name": "properties",
        "properties": {
            "properties": {"type": "object", "additionalProperties": item},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
        "definitions": copy.deepcopy(DEFINITIONS),
    }


DOCUMENTS: dict[str, dict[str, Any]] = {
    "namespace": NAMESPACE,
    "namespaces": _collection("namespaces", NAMESPACE),
    "object": OBJECT,
    "objects": _collection("objects", OBJECT),
    "property": PROPERTY,
    "properties": _properties_collection(),
    "tag": TAG,
    "tags": _collection("tags", TAG),
    "resource_type": RESOURCE_TYPE,
    "resource_types": _collection("resource_type_associations", RESOURCE_TYPE),
}


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, format_checker=jsonschema.FormatChecker())


_VALIDATORS = {
    name: _validator(DOCUMENTS[name])
    for name in ("namespace", "object", "property", "tag", "resource_type")
}
_VALIDATORS["tag_list"] = _validator(TAG_LIST)
_VALIDATORS["property_unnamed"] = _validator({**PROPERTY, "required": ["title", "type"]})


def validate(kind: str, body: Any) -> None:
    """``Invalid`` (400) with the first violation, as Glance words it (``Provided object
    does not match schema ...``)."""
    validator = _VALIDATORS[kind]
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.path) or kind
        raise errors.Invalid(
            f"Provided object does not match schema '{kind}': {error.message[:300]}: {where[:80]}"
        )
