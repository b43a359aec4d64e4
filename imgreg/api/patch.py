"""JSON-patch for ``PATCH /v2/images/{id}`` in Glance's two dialects.

``application/openstack-images-v2.1-json-patch``: ``[{"op": "add|replace|remove", "path": "/x",
"value": …}]``; ``…-v2.0-json-patch``: ``[{"replace": "/x", "value": …}]``. ``parse_patch``
turns either into ``Operation``s; ``apply_patch`` applies them to an ``Image`` in memory, all
or nothing (the caller saves once).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from imgreg.api.body import parse_json
from imgreg.api.text import check_text
from imgreg.domain import errors
from imgreg.domain.factory import check_attribute, check_int32
from imgreg.domain.image import MUTABLE_FIELDS, Image
from imgreg.domain.schema import ImageSchema

V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"
MEDIA_TYPES = (V20, V21)
OPS = ("add", "replace", "remove")
FORMAT_FIELDS = ("disk_format", "container_format")


@dataclasses.dataclass(frozen=True)
class Operation:
    op: str
    name: str
    value: Any = None
    position: str | None = None  # /locations/<position> (add, remove)


def _decode_path(path: Any, op: str) -> tuple[str, str | None]:
    """The property a path names, and the position under it (only ``/locations/<n|->`` for
    add and remove has one, as in Glance)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.Invalid(f"Invalid JSON pointer for this resource: '{path}'")
    parts = path[1:].split("/")
    depth = 2 if parts[0] == "locations" and op != "replace" else 1
    if not 1 <= len(parts) <= depth or not all(parts):
        raise errors.Invalid(f"Invalid JSON pointer for this resource: '{path}'")
    name = parts[0].replace("~1", "/").replace("~0", "~")
    return name, (parts[1] if len(parts) == 2 else None)


def _parse_one(item: Any, media_type: str) -> Operation:
    if not isinstance(item, dict):
        raise errors.Invalid("Operations must be JSON objects.")
    if media_type == V21:
        op = item.get("op")
        if op not in OPS:
            raise errors.Invalid(f"Invalid operation: `{op}`: must be one of add, replace, remove")
        path = item.get("path")
    else:
        found = [k for k in OPS if k in item]
        if len(found) != 1:
            raise errors.Invalid(
                "Operation objects must contain exactly one of add, replace, remove"
            )
        op = found[0]
        path = item[op]
    if "path" not in item and media_type == V21:
        raise errors.Invalid("Unable to find 'path' in JSON Schema change")
    if op != "remove" and "value" not in item:
        raise errors.Invalid(f"Operation '{op}' requires a member named 'value'.")
    name, position = _decode_path(path, op)
    return Operation(op, name, item.get("value"), position)


def parse_patch(body: bytes, media_type: str) -> list[Operation]:
    doc = parse_json(body)
    if not isinstance(doc, list):
        raise errors.Invalid("Request body must be a JSON array of operation objects.")
    return [_parse_one(item, media_type) for item in doc]


class LocationOps(Protocol):
    """Applies the ``/locations`` operations (``imgreg.api.location_patch``)."""

    def apply(self, image: Image, op: Operation) -> None: ...


def apply_patch(
    image: Image,
    ops: list[Operation],
    schema: ImageSchema,
    media_type: str,
    locations: LocationOps | None = None,
) -> None:
    """``locations``: how ``/locations`` operations apply; ``None`` (locations invisible,
    ``show_multiple_locations`` off) refuses them, as Glance does."""
    for op in ops:
        if op.name == "locations":
            if locations is None:
                verb = {"add": "add", "replace": "update", "remove": "remove"}[op.op]
                raise errors.Forbidden(
                    f"It's not allowed to {verb} locations if locations are invisible."
                )
            locations.apply(image, op)
        else:
            _apply(image, op, schema, media_type)


def _apply(image: Image, op: Operation, schema: ImageSchema, media_type: str) -> None:
    name = op.name
    check_text(name)
    if name == "id":
        raise errors.ReadOnlyProperty(name)
    if name not in MUTABLE_FIELDS and name != "tags":
        check_attribute(name)  # read-only and reserved names: 403
    if op.op != "remove":
        check_text(op.value)
        schema.validate({name: op.value}, partial=True)
    if name == "tags":
        if op.op == "remove":
            raise errors.Forbidden("Property tags may not be removed.")
        image.tags = set(op.value)
    elif name in MUTABLE_FIELDS:
        if op.op == "remove":
            raise errors.Forbidden(f"Property {name} may not be removed.")
        locked = image.status not in ("queued", "importing")
        if name in FORMAT_FIELDS and locked and getattr(image, name) != op.value:
            raise errors.Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        if name in ("min_disk", "min_ram"):
            check_int32(name, op.value)
        setattr(image, name, op.value)
    else:
        _apply_extra(image, op, media_type)


def _apply_extra(image: Image, op: Operation, media_type: str) -> None:
    props = image.extra_properties
    exists = op.name in props
    if op.op == "remove":
        if not exists:
            raise errors.Conflict(f"Property {op.name} does not exist.")
        del props[op.name]
    elif op.op == "replace" and not exists:
        raise errors.Conflict(f"Property {op.name} does not exist.")
    elif op.op == "add" and exists and media_type == V20:
        raise errors.Conflict("Property name already present.")
    else:
        if len(op.name) > 255:
            raise errors.Invalid("Property names are at most 255 characters long.")
        props[op.name] = op.value
